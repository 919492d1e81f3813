using Pronto.Core.Configuration;
using Pronto.Core.Errors;
using Pronto.Core.Generation;
using Pronto.Core.Repository;
using Pronto.Onnx;
using Pronto.Testing;

namespace Pronto.Core.Tests.Generation;

/// <summary>
/// ONNX Runtime GenAI's folder layout: the tiny decoder with GenAI-style cache names (past_key_%d, present_value_%d ...)
/// and a genai_config.json, no config.pbtxt, beside the same weights in Optimum's layout with a config.pbtxt.
/// </summary>
public sealed class GenaiLayoutTests : IDisposable
{
    private static readonly int[] Prompt = [84, 104, 105, 115, 32, 105, 115, 32, 97, 32, 116, 101, 115, 116];
    private readonly string _root = Directory.CreateTempSubdirectory("pronto-genai-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private static async Task<List<int>> GreedyAsync(ModelRepository repository, string name)
    {
        using var lease = repository.Acquire(name);
        var tokens = new List<int>();
        await foreach (var chunk in lease.Model.Generative!.Engine.Generate(Prompt, new SamplingParameters { Temperature = 0, MaxTokens = 16, IgnoreEos = true }, CancellationToken.None))
        {
            tokens.Add(chunk.TokenId);
        }

        return tokens;
    }

    [Fact]
    public async Task A_genai_folder_is_a_generative_model_that_generates_what_the_optimum_layout_does()
    {
        TinyDecoder.WriteGenai(_root, "genai");
        TinyDecoder.Write(_root, "optimum");
        using var repository = new ModelRepository(_root, [new OnnxBackend()]);
        repository.Load("genai");
        repository.Load("optimum");

        using (var lease = repository.Acquire("genai"))
        {
            var model = lease.Model;
            Assert.Equal(ModelConfig.GenaiPlatform, model.Config.Platform);
            Assert.Equal("decoder.onnx", model.Config.DefaultModelFilename);
            Assert.Equal(TinyDecoder.ContextLength, model.Generative!.ContextLength);
            Assert.Equal(["logits", "present_key_0", "present_key_1", "present_value_0", "present_value_1"], model.Config.Outputs.Select(o => o.Name).Order(StringComparer.Ordinal));
            Assert.Equal(["past_key_0", "past_value_0", "past_key_1", "past_value_1"], model.Generative.Engine.Decoder.PastNames);
        }

        var expected = await GreedyAsync(repository, "optimum");
        Assert.Equal(16, expected.Count);
        Assert.Equal(expected, await GreedyAsync(repository, "genai"));
    }

    [Fact]
    public void Search_and_generation_config_give_the_model_s_sampling_defaults_for_what_a_request_leaves_out()
    {
        // GenAI's search section (the tests' folder says do_sample false: greedy) ...
        TinyDecoder.WriteGenai(_root, "genai");
        // ... and Hugging Face's generation_config.json, which wins where both give a value.
        var version = TinyDecoder.WriteGenai(_root, "configured");
        File.WriteAllText(Path.Combine(version, "generation_config.json"), "{\"do_sample\": true, \"temperature\": 0.6, \"top_k\": 20, \"max_new_tokens\": 7}");
        TinyDecoder.Write(_root, "optimum");
        using var repository = new ModelRepository(_root, [new OnnxBackend()]);
        repository.Load("genai");
        repository.Load("configured");
        repository.Load("optimum");
        SamplingDefaults Defaults(string name)
        {
            using var lease = repository.Acquire(name);
            return lease.Model.Generative!.Defaults;
        }

        Assert.Equal(new SamplingDefaults { Temperature = 0f, MaxLength = TinyDecoder.ContextLength }, Defaults("genai"));
        Assert.Equal(new SamplingDefaults { Temperature = 0.6f, TopK = 20, MaxNewTokens = 7, MaxLength = TinyDecoder.ContextLength }, Defaults("configured"));
        Assert.Equal(SamplingDefaults.None, Defaults("optimum"));

        // max_length caps prompt + generated tokens when neither the request nor max_new_tokens says how many.
        var shortVersion = TinyDecoder.WriteGenai(_root, "short");
        var genai = Path.Combine(shortVersion, "genai_config.json");
        File.WriteAllText(genai, File.ReadAllText(genai).Replace($"\"max_length\": {TinyDecoder.ContextLength}", "\"max_length\": 20", StringComparison.Ordinal));
        repository.Load("short");
        using (var lease = repository.Acquire("short"))
        {
            var model = lease.Model.Generative!;
            Assert.Equal(20, model.Defaults.MaxLength);
            Assert.Equal(15, model.MaxTokensFor(5, null));
            Assert.Equal(1, model.MaxTokensFor(25, null));
            Assert.Equal(30, model.MaxTokensFor(5, 30));
            Assert.Equal(7, model.MaxTokensFor(5, null, 7));
        }

        // A field the request gave keeps its value; the others take the model's.
        var request = new SamplingParameters { Temperature = 1f, TopK = 3, TopP = 0.9f };
        var applied = Defaults("configured").Apply(request, new HashSet<string> { "top_k" });
        Assert.Equal((0.6f, 3, 0.9f), (applied.Temperature, applied.TopK, applied.TopP));
    }

    [Fact]
    public void A_genai_config_whose_names_do_not_match_the_decoder_fails_to_load_with_the_name()
    {
        var version = TinyDecoder.WriteGenai(_root, "renamed");
        var path = Path.Combine(version, GenaiConfig.FileName);
        File.WriteAllText(path, File.ReadAllText(path).Replace("\"past_key_%d\"", "\"past_%d\"", StringComparison.Ordinal));
        using var repository = new ModelRepository(_root, [new OnnxBackend()]);
        var e = Assert.Throws<ProntoException>(() => repository.Load("renamed"));
        Assert.Equal(ErrorCode.Unavailable, e.Code);
        Assert.StartsWith("model 'renamed' version 1 failed to load: generative model 'renamed' has no input 'past_0' (Pronto reads decoders in the names of its genai_config.json: input_ids, attention_mask, past_%d, past_value_%d", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_per_layer_name_without_the_layer_pattern_is_refused()
    {
        var version = TinyDecoder.WriteGenai(_root, "flat");
        var path = Path.Combine(version, GenaiConfig.FileName);
        File.WriteAllText(path, File.ReadAllText(path).Replace("\"present_key_%d\"", "\"present_key\"", StringComparison.Ordinal));
        using var repository = new ModelRepository(_root, [new OnnxBackend()]);
        var e = Assert.Throws<ProntoException>(() => repository.Load("flat"));
        Assert.Equal($"{path}: 'present_key_names' must hold %d (the layer), got 'present_key'", e.Message);
    }
}
