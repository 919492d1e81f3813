using System.Text;
using Pronto.Core.Errors;
using Pronto.Core.Inference;
using Pronto.Core.Repository;
using Pronto.Core.Tensors;
using Pronto.Models.Finetune;
using Pronto.Onnx;
using Pronto.Testing;

namespace Pronto.Models.Tests.Finetune;

/// <summary>
/// Fine-tunes the bundled minilm on <see cref="LabeledTexts"/> (generated data standing in for a labeled ticket set;
/// 60 rows, 12 held out) into a temporary repository.
/// </summary>
[Collection(BundledCollection.Name)]
public sealed class FinetunerTests(BundledRepositoryFixture fixture) : IDisposable
{
    private readonly string _temp = Directory.CreateTempSubdirectory("pronto-finetune-").FullName;

    private static List<FinetuneExample> Examples(int count) =>
        [.. LabeledTexts.Generate(count).Select((r, i) => new FinetuneExample(Encoding.UTF8.GetBytes(r.Text), r.Label, $"row {i}"))];

    private FinetuneOptions Options(string repository, ulong seed = 7) =>
        new() { Name = "tickets", BaseModel = "minilm", Seed = seed, TargetRepository = repository };

    [Fact]
    public void Served_probabilities_equal_minilm_embedding_then_head_and_beat_the_floor()
    {
        var examples = Examples(60);
        var progress = new List<(string, int, int)>();
        var result = Finetuner.Run(fixture.Service, Options(_temp) with { Progress = (stage, done, total) => progress.Add((stage, done, total)) }, examples);
        Assert.Equal([("embedding", 32, 60), ("embedding", 60, 60), ("training", 0, 1), ("training", 1, 1)], progress);

        // Generated topics are separable: the floor is 0.9 of 12 held-out texts (measured: 1.0).
        Assert.True(result.Report.Accuracy >= 0.9, $"held-out accuracy {result.Report.Accuracy}");
        Assert.Equal(48, result.Report.TrainExamples);
        Assert.Equal(12, result.Report.TestExamples);
        Assert.Equal(LabeledTexts.Labels.Order(StringComparer.Ordinal), result.Report.Labels);
        Assert.Equal(["billing", "delivery", "login", "refund"], File.ReadAllLines(Path.Combine(_temp, "tickets", Finetuner.LabelFile)));
        Assert.True(File.Exists(Path.Combine(result.VersionDirectory!, Finetuner.ReportFile)));

        using var repository = new ModelRepository(_temp, [new OnnxBackend(new OnnxBackendOptions())]);
        repository.Load("tickets");
        var tuned = new InferenceService(repository);
        var texts = examples.Select(e => e.Item).ToArray();
        var served = tuned.InferDirect(new InferenceRequest { ModelName = "tickets", Inputs = [new NamedTensor("text", Tensor.FromStrings(texts, texts.Length))] }).Outputs[0];
        Assert.Equal("probabilities", served.Name);
        var probabilities = served.Tensor.ToArray<float>();
        var embeddings = fixture.Service.InferDirect(new InferenceRequest { ModelName = "minilm", Inputs = [new NamedTensor("text", Tensor.FromStrings(texts, texts.Length))] }).Outputs[0].Tensor.ToArray<float>();
        var worst = 0.0;
        for (var i = 0; i < texts.Length; i++)
        {
            var expected = result.Head.Probabilities(embeddings.AsSpan(i * 384, 384));
            for (var k = 0; k < expected.Length; k++)
            {
                worst = Math.Max(worst, Math.Abs(expected[k] - probabilities[(i * expected.Length) + k]));
            }
        }

        Assert.True(worst <= 1e-5, $"largest difference {worst}");
    }

    [Fact]
    public void Resnet18_on_scikit_learn_digits_serves_embedding_then_head_and_beats_the_floor()
    {
        // Real data: the first 150 of scikit-learn's handwritten digits (15 per class), 32 x 32 PNGs; 30 held out.
        var examples = SklearnDigits.Images(150).Select((d, i) => new FinetuneExample(d.Png, d.Label, $"digit {i}")).ToList();
        var result = Finetuner.Run(fixture.Service, new FinetuneOptions { Name = "digits", BaseModel = "resnet18", Seed = 42, TargetRepository = _temp }, examples);

        // ImageNet features of upscaled 8 x 8 scans, 12 training images per class: the floor is 0.8 (measured: 0.9, 27 of 30).
        Assert.True(result.Report.Accuracy >= 0.8, $"held-out accuracy {result.Report.Accuracy}");
        Assert.Equal(120, result.Report.TrainExamples);
        Assert.Equal(30, result.Report.TestExamples);
        Assert.Equal(Enumerable.Range(0, 10).Select(d => d.ToString(System.Globalization.CultureInfo.InvariantCulture)), result.Report.Labels);

        using var repository = new ModelRepository(_temp, [new OnnxBackend(new OnnxBackendOptions())]);
        repository.Load("digits");
        var images = examples.Take(20).Select(e => e.Item).ToArray();
        var probabilities = new InferenceService(repository).InferDirect(new InferenceRequest { ModelName = "digits", Inputs = [new NamedTensor("image", Tensor.FromStrings(images, images.Length))] }).Outputs[0].Tensor.ToArray<float>();
        var features = fixture.Service.InferDirect(new InferenceRequest { ModelName = "resnet18", Inputs = [new NamedTensor("image", Tensor.FromStrings(images, images.Length))] }).Outputs[0].Tensor.ToArray<float>();
        var width = features.Length / images.Length;
        var worst = 0.0;
        for (var i = 0; i < images.Length; i++)
        {
            var expected = result.Head.Probabilities(features.AsSpan(i * width, width));
            for (var k = 0; k < expected.Length; k++)
            {
                worst = Math.Max(worst, Math.Abs(expected[k] - probabilities[(i * expected.Length) + k]));
            }
        }

        Assert.True(worst <= 1e-5, $"largest difference {worst}");
    }

    [Fact]
    public void The_same_seed_writes_the_same_model_bytes_as_the_next_version()
    {
        var first = Finetuner.Run(fixture.Service, Options(_temp), Examples(40));
        var second = Finetuner.Run(fixture.Service, Options(_temp), Examples(40));
        Assert.Equal(Path.Combine(_temp, "tickets", "1"), first.VersionDirectory);
        Assert.Equal(Path.Combine(_temp, "tickets", "2"), second.VersionDirectory);
        Assert.True(File.ReadAllBytes(Path.Combine(first.VersionDirectory!, "model.onnx")).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(second.VersionDirectory!, "model.onnx"))));
        Assert.Equal(["1", "2", "config.pbtxt", "labels.txt", "vocab.txt"], Directory.EnumerateFileSystemEntries(Path.Combine(_temp, "tickets")).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void A_version_that_scores_lower_is_not_written_unless_forced()
    {
        var first = Finetuner.Run(fixture.Service, Options(_temp), Examples(60));
        Assert.Equal(new ModelPromotion(true, null, null, "the model's first version"), first.Report.Promotion);

        // Every third label moved to the next class: the same label set, a noisier held-out split.
        var labels = LabeledTexts.Labels.Order(StringComparer.Ordinal).ToArray();
        var noisy = Examples(60).Select((e, i) => i % 3 == 0 ? e with { Label = labels[(Array.IndexOf(labels, e.Label) + 1) % labels.Length] } : e).ToList();
        var worse = Finetuner.Run(fixture.Service, Options(_temp), noisy);
        Assert.True(worse.Report.MacroF1 < first.Report.MacroF1, $"{worse.Report.MacroF1} vs {first.Report.MacroF1}");
        var live = Math.Round(first.Report.MacroF1, 6);
        var candidate = Math.Round(worse.Report.MacroF1, 6);
        Assert.Null(worse.VersionDirectory);
        Assert.Equal(new ModelPromotion(false, 1, live, string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"held-out macro-F1 {candidate:0.000000} < version 1's {live:0.000000}: version 1 stays live and nothing was written (--force writes the new version anyway)")), worse.Report.Promotion);
        Assert.Equal(["1"], Directory.GetDirectories(Path.Combine(_temp, "tickets")).Select(Path.GetFileName));
        Assert.EndsWith("not promoted: " + worse.Report.Promotion!.Reason + "\n", worse.Report.ToText(), StringComparison.Ordinal);

        var forced = Finetuner.Run(fixture.Service, Options(_temp) with { Force = true }, noisy);
        Assert.Equal(Path.Combine(_temp, "tickets", "2"), forced.VersionDirectory);
        Assert.True(forced.Report.Promotion!.Promoted);
        Assert.StartsWith("--force: held-out macro-F1 ", forced.Report.Promotion.Reason, StringComparison.Ordinal);
        using var json = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(forced.VersionDirectory!, Finetuner.ReportFile)));
        Assert.True(json.RootElement.GetProperty("promotion").GetProperty("promoted").GetBoolean());
        Assert.Equal(1, json.RootElement.GetProperty("promotion").GetProperty("current_version").GetInt64());
        Assert.Equal(live, json.RootElement.GetProperty("promotion").GetProperty("current_macro_f1").GetDouble());
    }

    [Fact]
    public void Another_label_set_under_an_existing_name_writes_nothing()
    {
        Finetuner.Run(fixture.Service, Options(_temp), Examples(40));
        var relabeled = Examples(40).Select(e => e with { Label = e.Label == "login" ? "access" : e.Label }).ToList();
        var e = Assert.Throws<ProntoException>(() => Finetuner.Run(fixture.Service, Options(_temp), relabeled));
        Assert.Equal(ErrorCode.InvalidArgument, e.Code);
        Assert.Equal($"model 'tickets' already exists in {_temp} with another base, config or label set; a new version must keep them (they are the model's, not the version's): choose a new NAME", e.Message);
        Assert.Equal(["1", "config.pbtxt", "labels.txt", "vocab.txt"], Directory.EnumerateFileSystemEntries(Path.Combine(_temp, "tickets")).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    public void Dispose() => Directory.Delete(_temp, recursive: true);
}
