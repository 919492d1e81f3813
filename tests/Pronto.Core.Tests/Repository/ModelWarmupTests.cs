using System.Buffers.Binary;
using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Pronto.Core.Backends;
using Pronto.Core.Configuration;
using Pronto.Core.Errors;
using Pronto.Core.Inference;
using Pronto.Core.Repository;
using Pronto.Core.Tensors;
using Pronto.Core.Tests.Scheduling;
using Pronto.Onnx;
using Pronto.Testing;

namespace Pronto.Core.Tests.Repository;

/// <summary>
/// Warm-up as Triton has it: a model ONNX Runtime loaded is READY even when the implicit zero-filled warm-up fails;
/// config.pbtxt's model_warmup samples must pass first.
/// </summary>
public sealed class ModelWarmupTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("pronto-warmup-").FullName;
    private readonly CapturingLogger _log = new();
    private readonly ModelRepository _repository;

    public ModelWarmupTests() => _repository = new ModelRepository(_root, [new OnnxBackend(logger: _log)]);

    [Fact]
    public async Task A_failing_implicit_warmup_only_warns_and_the_model_is_ready()
    {
        TinyModels.WriteResize(_root, "resize");
        TinyModels.WriteReshape(_root, "reshape");
        TinyModels.WriteMod(_root, "mod");

        await _repository.LoadAllAsync();

        Assert.Equal(
            [new ModelVersionStatus("mod", 1, ModelState.Ready, ""), new ModelVersionStatus("reshape", 1, ModelState.Ready, ""), new ModelVersionStatus("resize", 1, ModelState.Ready, "")],
            _repository.Index().Select(static r => r with { ResidentBytes = null, LastUsed = null }));
        var warnings = _log.Entries.Where(e => e.Id == 1004).OrderBy(e => e.Message, StringComparer.Ordinal).ToList();
        Assert.Equal(3, warnings.Count);
        Assert.All(warnings, w => Assert.Equal(LogLevel.Warning, w.Level));
        Assert.StartsWith("Model mod: the implicit zero-filled warm-up failed (model 'mod' cannot run on these input values: ", warnings[0].Message, StringComparison.Ordinal);
        Assert.Contains("Integer modulo by zero", warnings[0].Message, StringComparison.Ordinal);
        Assert.StartsWith("Model reshape: the implicit zero-filled warm-up failed", warnings[1].Message, StringComparison.Ordinal);
        Assert.Contains("Scale value should be greater than 0", warnings[2].Message, StringComparison.Ordinal);
        Assert.EndsWith("the model is READY and its first request pays for lazy initialisation. Give config.pbtxt model_warmup samples with valid inputs to warm it up.", warnings[2].Message, StringComparison.Ordinal);

        // READY means it serves: a valid request runs.
        var service = new InferenceService(_repository);
        var response = service.InferDirect(new InferenceRequest
        {
            ModelName = "resize",
            Inputs = [new NamedTensor("x", Tensor.Create(new[] { 1f, 2f, 3f, 4f }, 1, 1, 2, 2)), new NamedTensor("scales", Tensor.Create(new[] { 1f, 1f, 2f, 2f }, 4))],
        });
        Assert.Equal([1L, 1L, 4L, 4L], response.Outputs[0].Tensor.Shape.ToArray());
        Assert.Equal([1f, 1f, 2f, 2f, 1f, 1f, 2f, 2f, 3f, 3f, 4f, 4f, 3f, 3f, 4f, 4f], response.Outputs[0].Tensor.ToArray<float>());
    }

    [Fact]
    public void A_failing_model_warmup_sample_makes_the_model_unavailable_with_the_reason()
    {
        TinyModels.WriteResize(_root, "resize");
        File.WriteAllText(Path.Combine(_root, "resize", "config.pbtxt"), """
            model_warmup [
              {
                name: "zero scales"
                batch_size: 1
                inputs { key: "x" value { data_type: TYPE_FP32 dims: [ 1, 1, 2, 2 ] random_data: true } }
                inputs { key: "scales" value { data_type: TYPE_FP32 dims: [ 4 ] zero_data: true } }
              }
            ]
            """);

        var error = Assert.Throws<ProntoException>(() => _repository.Load("resize"));

        Assert.Equal(ErrorCode.Unavailable, error.Code);
        var row = Assert.Single(_repository.Index());
        Assert.Equal(("resize", 1L, ModelState.Unavailable), (row.Name, row.Version, row.State));
        Assert.StartsWith("model_warmup sample 'zero scales' failed: ONNX Runtime failed to run model 'resize': ", row.Reason, StringComparison.Ordinal);
        Assert.Contains("Scale value should be greater than 0", row.Reason, StringComparison.Ordinal);
        Assert.Equal($"model 'resize' version 1 failed to load: {row.Reason}", error.Message);

        // The samples replace the implicit warm-up: nothing else ran, nothing else warned.
        Assert.DoesNotContain(_log.Entries, e => e.Id == 1004);
    }

    [Fact]
    public async Task Passing_model_warmup_samples_make_the_model_ready()
    {
        TinyModels.WriteResize(_root, "resize");
        WriteWarmupFile("resize", "scales.bin", Floats(1f, 1f, 2f, 2f));
        File.WriteAllText(Path.Combine(_root, "resize", "config.pbtxt"), """
            model_warmup [
              {
                name: "double"
                batch_size: 1
                inputs { key: "x" value { data_type: TYPE_FP32 dims: [ 1, 1, 2, 2 ] random_data: true } }
                inputs { key: "scales" value { data_type: TYPE_FP32 dims: [ 4 ] input_data_file: "scales.bin" } }
                count: 2
              }
            ]
            """);
        TinyModels.WriteIdentity(_root, "text", DataType.Bytes, ["batch", 2L]);
        WriteWarmupFile("text", "words", [.. Element("hello"), .. Element("")]);
        File.WriteAllText(Path.Combine(_root, "text", "config.pbtxt"), """
            model_warmup { name: "words" batch_size: 3 inputs { key: "x" value { data_type: TYPE_STRING dims: [ 2 ] input_data_file: "words" } } }
            """);

        await _repository.LoadAllAsync();

        Assert.Equal([new ModelVersionStatus("resize", 1, ModelState.Ready, ""), new ModelVersionStatus("text", 1, ModelState.Ready, "")], _repository.Index().Select(static r => r with { ResidentBytes = null, LastUsed = null }));
        Assert.DoesNotContain(_log.Entries, e => e.Id == 1004);
    }

    /// <summary>(config.pbtxt of a fake FP32 model x [3] -> y [3], max_batch_size 4, the reason after "model_warmup sample 's' failed: ").</summary>
    public static TheoryData<string, string> Misfits => new()
    {
        { """inputs { key: "x" value { data_type: TYPE_FP32 dims: [ -1 ] zero_data: true } }""", "input 'x' has dims [-1]; a warm-up sample gives every dimension (no -1)" },
        { """inputs { key: "x" value { dims: [ 3 ] zero_data: true } }""", "input 'x' needs a data_type" },
        { """inputs { key: "x" value { data_type: TYPE_FP64 dims: [ 3 ] zero_data: true } }""", "input 'x': expected datatype FP32, got FP64" },
        { """inputs { key: "x" value { data_type: TYPE_FP32 dims: [ 4 ] zero_data: true } }""", "input 'x': expected shape FP32 [-1,3], got [1,4]" },
        { """inputs { key: "z" value { data_type: TYPE_FP32 dims: [ 3 ] zero_data: true } }""", "unexpected input 'z' for model 'fake'; its inputs are x" },
        { "", "missing input 'x' for model 'fake' (expected FP32 [-1,3])" },
        { """batch_size: 5 inputs { key: "x" value { data_type: TYPE_FP32 dims: [ 3 ] zero_data: true } }""", "input 'x': batch size 5 is outside 1..4 (max_batch_size of model 'fake')" },
        { """inputs { key: "x" value { data_type: TYPE_FP32 dims: [ 3 ] input_data_file: "short.bin" } }""", "input 'x': TYPE_FP32 [3] needs 12 bytes, but warmup/short.bin has 4" },
        { """inputs { key: "x" value { data_type: TYPE_FP32 dims: [ 3 ] input_data_file: "../config.pbtxt" } }""", "input 'x': input_data_file '../config.pbtxt' must name a file inside the model's warmup/ folder" },
        { """inputs { key: "x" value { data_type: TYPE_FP32 dims: [ 3 ] input_data_file: "/etc/passwd" } }""", "input 'x': input_data_file '/etc/passwd' must name a file inside the model's warmup/ folder" },
    };

    [Theory]
    [MemberData(nameof(Misfits))]
    public void A_sample_that_does_not_fit_the_model_says_what_is_wrong(string sample, string reason)
    {
        var backend = new FakeBackend();
        using var repository = new ModelRepository(_root, [backend]);
        WriteFakeModel("fake", 4, $"model_warmup [ {{ name: \"s\" {(sample.StartsWith("batch_size", StringComparison.Ordinal) ? "" : "batch_size: 1 ")}{sample} }} ]");
        WriteWarmupFile("fake", "short.bin", Floats(1f));

        Assert.False(repository.TryLoad("fake"));

        var row = Assert.Single(repository.Index());
        Assert.Equal(ModelState.Unavailable, row.State);
        Assert.Equal("model_warmup sample 's' failed: " + reason, row.Reason);
        Assert.Empty(backend.Instance.Runs);
        Assert.True(backend.Instance.Disposed);
    }

    [Fact]
    public void A_missing_warmup_file_is_named()
    {
        var backend = new FakeBackend();
        using var repository = new ModelRepository(_root, [backend]);
        WriteFakeModel("fake", 4, """model_warmup { name: "s" batch_size: 1 inputs { key: "x" value { data_type: TYPE_FP32 dims: [ 3 ] input_data_file: "none.bin" } } }""");

        Assert.False(repository.TryLoad("fake"));

        Assert.Equal($"model_warmup sample 's' failed: input 'x': input_data_file warmup/none.bin does not exist in {Path.Combine(_root, "fake")}", Assert.Single(repository.Index()).Reason);
    }

    [Fact]
    public void Batch_size_and_count_run_as_in_triton()
    {
        var backend = new FakeBackend();
        using var repository = new ModelRepository(_root, [backend]);

        // Batching model: batch_size rows in one run, count runs; a sample of batch_size 0 is skipped.
        WriteFakeModel("batched", 4, """
            model_warmup [
              { name: "three" batch_size: 3 count: 2 inputs { key: "x" value { data_type: TYPE_FP32 dims: [ 3 ] input_data_file: "x.bin" } } },
              { name: "skipped" batch_size: 0 inputs { key: "x" value { data_type: TYPE_FP32 dims: [ 3 ] zero_data: true } } }
            ]
            """);
        WriteWarmupFile("batched", "x.bin", Floats(7f, 8f, 9f));
        repository.Load("batched");
        Assert.Equal([(3L, 7f), (3L, 7f)], backend.Instance.Runs);
        Assert.Equal([7f, 8f, 9f, 7f, 8f, 9f, 7f, 8f, 9f], backend.Instance.Inputs[0]);

        // Without batching: the sample runs batch_size times per count (count 0 is once).
        backend.Reset();
        WriteFakeModel("plain", 0, """
            model_warmup { name: "twice" batch_size: 2 inputs { key: "x" value { data_type: TYPE_FP32 dims: [ 3 ] random_data: true } } }
            """);
        repository.Load("plain");
        Assert.Equal(2, backend.Instance.Runs.Count);
        var random = backend.Instance.Inputs[0];
        Assert.Equal(3, random.Length);
        Assert.All(random, v => Assert.InRange(v, 0f, 1f));
        Assert.Equal(3, random.Distinct().Count());

        // Random data comes from a fixed seed: the same values at every load.
        backend.Reset();
        repository.Load("plain");
        Assert.Equal(random, backend.Instance.Inputs[0]);
        Assert.Equal(new[] { ModelState.Ready, ModelState.Ready }, repository.Index().Select(r => r.State));
    }

    public void Dispose()
    {
        _repository.Dispose();
        Directory.Delete(_root, recursive: true);
    }

    private static byte[] Floats(params float[] values)
    {
        var bytes = new byte[values.Length * 4];
        for (var i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * 4), values[i]);
        }

        return bytes;
    }

    private static byte[] Element(string text)
    {
        var utf8 = System.Text.Encoding.UTF8.GetBytes(text);
        var bytes = new byte[4 + utf8.Length];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, (uint)utf8.Length);
        utf8.CopyTo(bytes, 4);
        return bytes;
    }

    private void WriteWarmupFile(string model, string name, byte[] bytes)
    {
        var folder = Path.Combine(_root, model, "warmup");
        Directory.CreateDirectory(folder);
        File.WriteAllBytes(Path.Combine(folder, name), bytes);
    }

    private void WriteFakeModel(string name, int maxBatchSize, string warmup)
    {
        Directory.CreateDirectory(Path.Combine(_root, name, "1"));
        File.WriteAllText(Path.Combine(_root, name, "config.pbtxt"), $$"""
            platform: "fake"
            max_batch_size: {{maxBatchSize}}
            input [ { name: "x" data_type: TYPE_FP32 dims: [ 3 ] } ]
            output [ { name: "y" data_type: TYPE_FP32 dims: [ 3 ] } ]
            {{warmup}}
            """);
    }

    /// <summary>Loads <see cref="RecordingInstance"/>s: y = x + 1, each run's inputs kept.</summary>
    private sealed class FakeBackend : IModelBackend
    {
        public RecordingInstance Instance { get; private set; } = new();

        public string Platform => "fake";

        public string DefaultModelFilename => "model.fake";

        public bool Accepts(ModelConfig config) => config.Platform == Platform;

        public ModelConfig DeriveConfig(string name, string modelPath) => throw new NotSupportedException();

        public IModelInstance Load(ModelConfig config, string modelPath, CancellationToken cancellationToken) => Instance;

        public void Reset() => Instance = new RecordingInstance();
    }

    private sealed class RecordingInstance : IModelInstance
    {
        private readonly FakeInstance _engine = new();

        public ConcurrentQueue<(long Rows, float First)> Runs => _engine.Runs;

        public List<float[]> Inputs { get; } = [];

        public bool Disposed { get; private set; }

        public IReadOnlyList<NamedTensor> Run(IReadOnlyList<NamedTensor> inputs, IReadOnlyList<string> outputNames, CancellationToken cancellationToken)
        {
            Inputs.Add(inputs[0].Tensor.ToArray<float>());
            return _engine.Run(inputs, outputNames, cancellationToken);
        }

        public void Dispose() => Disposed = true;
    }

    private sealed class CapturingLogger : ILogger<OnnxBackend>
    {
        public ConcurrentQueue<(int Id, LogLevel Level, string Message)> Entries { get; } = new();

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Entries.Enqueue((eventId.Id, logLevel, formatter(state, exception)));
    }
}
