using Pronto.Core.Errors;
using Pronto.Core.Generation;

namespace Pronto.Core.Tests.Generation;

/// <summary>The sampler's logit processing on hand-written logits: each penalty's exact arithmetic, min_p's kept set, min_tokens' mask.</summary>
public sealed class SamplerTests
{
    [Fact]
    public void A_token_s_rank_is_one_plus_the_ids_strictly_more_likely_than_it()
    {
        float[] logits = [1f, 3f, 2f, 3f, 0f];
        Assert.Equal([4, 1, 3, 1, 5], Enumerable.Range(0, logits.Length).Select(t => Sampler.Logprobs(logits, t, top: 2).Rank));

        // The two most likely, the lower id first on a tie; log-softmax values.
        var logprobs = Sampler.Logprobs(logits, 2, top: 2);
        Assert.Equal([1, 3], logprobs.Top.Select(t => t.TokenId));
        var logSum = Math.Log(logits.Sum(l => Math.Exp(l)));
        Assert.Equal(2 - logSum, logprobs.Logprob, 5);
        Assert.Empty(Sampler.Logprobs(logits, 4, top: 0).Top);
        Assert.Equal(5, Sampler.Logprobs(logits, 4, top: 0).Rank);
    }

    [Fact]
    public void Repetition_penalty_divides_positive_and_multiplies_negative_logits_of_prompt_and_output_tokens()
    {
        var sampler = new Sampler(new SamplingParameters { Temperature = 0, RepetitionPenalty = 2f }, prompt: [0, 1]);
        float[] logits = [2f, -1f, 0.5f, 3f];
        Assert.Equal([1f, -2f, 0.5f, 3f], sampler.Adjust(logits).ToArray());

        Assert.Equal(3, sampler.Next(logits));                               // 3 stays the largest; now it is seen too
        Assert.Equal([1f, -2f, 0.5f, 1.5f], sampler.Adjust(logits).ToArray());
        Assert.Equal(3, sampler.Next(logits));                               // applied once per token, however often seen
        Assert.Equal([1f, -2f, 0.5f, 1.5f], sampler.Adjust(logits).ToArray());
    }

    [Fact]
    public void Frequency_and_presence_penalties_subtract_per_generated_occurrence_and_once_per_token_not_for_the_prompt()
    {
        var sampler = new Sampler(new SamplingParameters { Temperature = 0, FrequencyPenalty = 0.5f, PresencePenalty = 0.25f }, prompt: [1, 2]);
        float[] logits = [4f, 3f, 2f, 1f];
        Assert.Equal([4f, 3f, 2f, 1f], sampler.Adjust(logits).ToArray());   // the prompt does not count
        Assert.Equal(0, sampler.Next(logits));
        Assert.Equal([3.25f, 3f, 2f, 1f], sampler.Adjust(logits).ToArray()); // 4 - (0.5 x 1 + 0.25)
        Assert.Equal(0, sampler.Next(logits));
        Assert.Equal([2.75f, 3f, 2f, 1f], sampler.Adjust(logits).ToArray()); // 4 - (0.5 x 2 + 0.25)
        Assert.Equal(1, sampler.Next(logits));
        Assert.Equal([2.75f, 2.25f, 2f, 1f], sampler.Adjust(logits).ToArray());
    }

    [Fact]
    public void Negative_penalties_encourage_repeats()
    {
        var sampler = new Sampler(new SamplingParameters { Temperature = 0, PresencePenalty = -1f }, prompt: []);
        float[] logits = [1f, 1.5f];
        Assert.Equal(1, sampler.Next(logits));
        Assert.Equal([1f, 2.5f], sampler.Adjust(logits).ToArray());
    }

    [Fact]
    public void Min_tokens_masks_the_end_ids_until_that_many_tokens_were_generated()
    {
        var sampler = new Sampler(new SamplingParameters { Temperature = 0, MinTokens = 2 }, prompt: [], endIds: [0, 2, 0]);
        float[] logits = [5f, 1f, 4f, 0f];
        Assert.Equal([float.NegativeInfinity, 1f, float.NegativeInfinity, 0f], sampler.Adjust(logits).ToArray());
        Assert.Equal(1, sampler.Next(logits));
        Assert.Equal(1, sampler.Next(logits));
        Assert.Equal([5f, 1f, 4f, 0f], sampler.Adjust(logits).ToArray());
        Assert.Equal(0, sampler.Next(logits));
    }

    [Fact]
    public void Min_tokens_masked_ids_are_never_drawn_when_sampling()
    {
        for (ulong seed = 0; seed < 200; seed++)
        {
            var sampler = new Sampler(new SamplingParameters { Temperature = 1f, Seed = seed, MinTokens = 1 }, prompt: [], endIds: [0]);
            Assert.NotEqual(0, sampler.Next([10f, 0f, 0f]));
        }
    }

    [Fact]
    public void Min_p_keeps_only_tokens_at_least_that_fraction_of_the_most_likely_ones_probability()
    {
        // Relative probabilities 1, 0.5, 0.2, 0.05 at temperature 1.
        float[] logits = [0f, MathF.Log(0.5f), MathF.Log(0.2f), MathF.Log(0.05f)];
        var kept = new SortedSet<int>();
        var all = new SortedSet<int>();
        for (ulong seed = 0; seed < 300; seed++)
        {
            kept.Add(new Sampler(new SamplingParameters { Temperature = 1f, Seed = seed, MinP = 0.25f }).Next(logits));
            all.Add(new Sampler(new SamplingParameters { Temperature = 1f, Seed = seed }).Next(logits));
        }

        Assert.Equal([0, 1], kept);
        Assert.Equal([0, 1, 2, 3], all);
    }

    [Fact]
    public void Min_p_of_1_keeps_only_the_most_likely_token()
    {
        for (ulong seed = 0; seed < 50; seed++)
        {
            Assert.Equal(2, new Sampler(new SamplingParameters { Temperature = 1.5f, Seed = seed, MinP = 1f }).Next([0.1f, 0.2f, 0.9f, 0.3f]));
        }
    }

    [Fact]
    public void Seeded_draws_with_penalties_repeat_exactly()
    {
        var parameters = new SamplingParameters { Temperature = 0.8f, Seed = 7, RepetitionPenalty = 1.3f, FrequencyPenalty = 0.4f, PresencePenalty = 0.2f, MinP = 0.05f };
        float[] logits = [1f, 0.9f, 0.8f, 0.7f, 0.6f, 0.5f];
        int[] Draws()
        {
            var sampler = new Sampler(parameters, prompt: [2]);
            return [.. Enumerable.Range(0, 20).Select(_ => sampler.Next(logits))];
        }

        Assert.Equal(Draws(), Draws());
    }

    [Fact]
    public void Logprobs_are_the_log_softmax_of_the_raw_logits_and_the_top_alternatives_break_ties_by_lower_id()
    {
        float[] logits = [1f, 3f, 3f, 0.5f, 2f];
        var logSum = Math.Log(logits.Sum(l => Math.Exp(l)));
        var sampler = new Sampler(new SamplingParameters { Temperature = 0, Logprobs = 3, RepetitionPenalty = 2f }, prompt: [1]);
        Assert.Equal(2, sampler.Next(logits));                               // the penalty halves 1's logit; raw logprobs do not see it
        var reported = sampler.LastLogprobs!;
        Assert.Equal(3 - logSum, reported.Logprob, 1e-6);
        Assert.Equal([1, 2, 4], reported.Top.Select(t => t.TokenId));
        Assert.Equal([3 - logSum, 3 - logSum, 2 - logSum], reported.Top.Select(t => (double)t.Logprob), new ToleranceComparer(1e-6));

        var none = new Sampler(new SamplingParameters { Temperature = 0, Logprobs = 0 });
        none.Next(logits);
        Assert.Empty(none.LastLogprobs!.Top);
        Assert.Null(new Sampler(new SamplingParameters { Temperature = 0 }).LastLogprobs);
    }

    private sealed class ToleranceComparer(double tolerance) : IEqualityComparer<double>
    {
        public bool Equals(double x, double y) => Math.Abs(x - y) <= tolerance;

        public int GetHashCode(double obj) => 0;
    }

    [Theory]
    [InlineData("min_p", "'min_p' must be from 0 to 1, got 1.5")]
    [InlineData("repetition_penalty", "'repetition_penalty' must be greater than 0, got 0")]
    [InlineData("presence_penalty", "'presence_penalty' must be from -2 to 2, got 2.5")]
    [InlineData("frequency_penalty", "'frequency_penalty' must be from -2 to 2, got -3")]
    [InlineData("min_tokens", "'min_tokens' must be from 0 to max_tokens (16), got 17")]
    [InlineData("logprobs", "'logprobs' must be from 0 to 20, got 21")]
    public void Out_of_range_values_are_invalid_arguments_naming_the_parameter(string name, string message)
    {
        var parameters = name switch
        {
            "min_p" => new SamplingParameters { MinP = 1.5f },
            "repetition_penalty" => new SamplingParameters { RepetitionPenalty = 0f },
            "presence_penalty" => new SamplingParameters { PresencePenalty = 2.5f },
            "frequency_penalty" => new SamplingParameters { FrequencyPenalty = -3f },
            "logprobs" => new SamplingParameters { Logprobs = 21 },
            _ => new SamplingParameters { MinTokens = 17 },
        };
        var e = Assert.Throws<ProntoException>(() => parameters.Validate(vocabSize: 10));
        Assert.Equal(ErrorCode.InvalidArgument, e.Code);
        Assert.Equal(message, e.Message);
    }
}
