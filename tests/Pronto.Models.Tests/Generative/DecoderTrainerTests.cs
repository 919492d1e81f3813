using Pronto.Core.Inference;
using Pronto.Core.Tensors;
using Pronto.Models.Fraud;
using Pronto.Models.Generative;
using Pronto.Onnx;

namespace Pronto.Models.Tests.Generative;

/// <summary>The hand-written backward pass against finite differences, and the trained weights' ONNX graph against the trainer.</summary>
public sealed class DecoderTrainerTests : IDisposable
{
    private static readonly DecoderDims Small = new(Vocab: 11, Layers: 2, Heads: 2, HeadDim: 4, ContextLength: 8, MlpWidth: 12, LayerNorm: true);
    private readonly string _root = Directory.CreateTempSubdirectory("pronto-trainer-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    /// <summary>Weights large enough that every gradient is well above float32's noise in a finite difference.</summary>
    private static DecoderWeights Random(ulong seed)
    {
        var weights = new DecoderWeights(Small);
        var random = new SplitMix64(seed);
        foreach (var array in weights.All())
        {
            for (var i = 0; i < array.Length; i++)
            {
                array[i] += random.NextSignedSingle() * 0.6f;
            }
        }

        return weights;
    }

    private static readonly TrainingSequence[] Batch =
    [
        new([1, 4, 2, 9, 3, 7, 7, 0, 5], 0),
        new([3, 3, 10, 6], 2),
        new([8, 2, 5, 1, 6, 4], 1),
    ];

    [Fact]
    public void Every_weights_gradient_matches_a_central_finite_difference()
    {
        var weights = Random(3);
        var analytic = new DecoderTrainer(weights).Gradient(Batch);
        var gradients = analytic.All().Select(g => g.ToArray()).ToList();
        var arrays = weights.All().ToList();
        Assert.Equal(2 + (10 * Small.Layers) + 3, arrays.Count);
        const float h = 2e-3f;
        for (var p = 0; p < arrays.Count; p++)
        {
            // The three largest entries of each array, and one fixed-position entry.
            var picks = Enumerable.Range(0, arrays[p].Length).OrderByDescending(i => MathF.Abs(gradients[p][i])).Take(3).Append(arrays[p].Length / 2);
            foreach (var i in picks)
            {
                var original = arrays[p][i];
                arrays[p][i] = original + h;
                var up = new DecoderTrainer(weights).Loss(Batch);
                arrays[p][i] = original - h;
                var down = new DecoderTrainer(weights).Loss(Batch);
                arrays[p][i] = original;
                var numeric = (up - down) / (2 * h);
                var error = Math.Abs(numeric - gradients[p][i]);
                Assert.True(error <= 2e-3 + (0.03 * Math.Abs(numeric)), $"array {p} entry {i}: analytic {gradients[p][i]}, numeric {numeric}");
            }
        }

        // Tokens never seen have no embedding gradient; padding and unweighted positions add nothing.
        Assert.All(analytic.Embed.AsSpan(0 * Small.Hidden, Small.Hidden).ToArray(), v => Assert.NotEqual(0f, v));
        var padded = new DecoderTrainer(weights).Gradient([Batch[1]]).Embed.ToArray();
        Assert.All(padded.AsSpan(1 * Small.Hidden, Small.Hidden).ToArray(), v => Assert.Equal(0f, v));
    }

    [Fact]
    public void Adam_steps_lower_the_loss_of_what_it_learns()
    {
        var trainer = new DecoderTrainer(DecoderTrainer.Initialize(Small, seed: 5));
        var first = trainer.Loss(Batch);
        Assert.InRange(first, Math.Log(11) - 0.05, Math.Log(11) + 0.05);
        double last = 0;
        for (var step = 0; step < 150; step++)
        {
            last = trainer.Step(Batch, 1e-2f);
        }

        Assert.True(trainer.Loss(Batch) < 0.1, $"loss {trainer.Loss(Batch)} after 150 steps (first {first}, last step {last})");
    }

    [Fact]
    public void The_onnx_graph_of_trained_weights_gives_the_trainers_logits_with_and_without_the_cache()
    {
        var trainer = new DecoderTrainer(DecoderTrainer.Initialize(Small, seed: 9));
        for (var step = 0; step < 20; step++)
        {
            trainer.Step(Batch, 1e-2f);
        }

        var path = Path.Combine(_root, "model.onnx");
        trainer.Weights.WriteOnnx(path, "pronto-tests");
        int[] tokens = [1, 4, 2, 9, 3, 7, 7];
        var expected = trainer.Logits(tokens);

        var backend = new OnnxBackend();
        using var instance = backend.Load(backend.DeriveConfig("demo", path), path, CancellationToken.None);
        string[] outputs = ["logits", .. Enumerable.Range(0, Small.Layers).SelectMany(i => new[] { DecoderWeights.PresentKey(i), DecoderWeights.PresentValue(i) })];
        IReadOnlyList<NamedTensor> Run(int from, int to, IReadOnlyList<NamedTensor>? past)
        {
            var inputs = new List<NamedTensor>
            {
                new("input_ids", Tensor.Create(tokens[from..to].Select(t => (long)t).ToArray(), 1, to - from)),
                new("attention_mask", Tensor.Create(Enumerable.Repeat(1L, to).ToArray(), 1, to)),
                new("position_ids", Tensor.Create(Enumerable.Range(from, to - from).Select(p => (long)p).ToArray(), 1, to - from)),
            };
            for (var i = 0; i < Small.Layers; i++)
            {
                var empty = Tensor.Create(Array.Empty<float>(), 1, Small.Heads, 0, Small.HeadDim);
                inputs.Add(new(DecoderWeights.PastKey(i), past?[1 + (2 * i)].Tensor ?? empty));
                inputs.Add(new(DecoderWeights.PastValue(i), past?[2 + (2 * i)].Tensor ?? empty));
            }

            return instance.Run(inputs, outputs, CancellationToken.None);
        }

        void AssertClose(ReadOnlySpan<float> want, ReadOnlySpan<float> got)
        {
            Assert.Equal(want.Length, got.Length);
            for (var i = 0; i < want.Length; i++)
            {
                Assert.True(MathF.Abs(want[i] - got[i]) <= 1e-4f * (1 + MathF.Abs(want[i])), $"logit {i}: {want[i]} vs {got[i]}");
            }
        }

        AssertClose(expected, Run(0, tokens.Length, null)[0].Tensor.Span<float>());
        var step3 = Run(0, 3, null);
        for (var t = 3; t < tokens.Length; t++)
        {
            step3 = Run(t, t + 1, step3);
            AssertClose(expected.AsSpan(t * Small.Vocab, Small.Vocab), step3[0].Tensor.Span<float>());
        }
    }
}
