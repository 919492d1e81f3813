using BenchmarkDotNet.Attributes;
using Pronto.Core.Inference;
using Pronto.Core.Repository;
using Pronto.Core.Tensors;
using Pronto.Models;
using Pronto.Onnx;

namespace Pronto.MicroBench;

/// <summary>
/// The response cache on fraud through InferenceService.Infer (the path every front end calls): a hit against a miss
/// (a new transaction each call, so it runs the model and inserts its response) and against the same model with no
/// cache. ORT's intra-op pool has one thread, so a call runs on the benchmark's thread and its time is its CPU time.
/// </summary>
[MemoryDiagnoser]
public class ResponseCacheBenchmarks
{
    private readonly float[] _features = [912.5f, 40, 7, 3, 850, 5];
    private string _root = null!;
    private ModelRepository _repository = null!;
    private InferenceService _service = null!;
    private InferenceRequest _same = null!;
    private int _next;

    [GlobalSetup]
    public void Setup()
    {
        // Two copies of the bundled fraud model: one with response_cache, one without.
        _root = Directory.CreateTempSubdirectory("pronto-cache-bench-").FullName;
        var zoo = Path.Combine(ZooPaths.DefaultRepository(), "fraud");
        foreach (var name in new[] { "cached", "plain" })
        {
            var dir = Path.Combine(_root, name);
            Directory.CreateDirectory(Path.Combine(dir, "1"));
            File.Copy(Path.Combine(zoo, "1", "model.onnx"), Path.Combine(dir, "1", "model.onnx"));
            File.Copy(Path.Combine(zoo, "labels.txt"), Path.Combine(dir, "labels.txt"));
            var config = File.ReadAllText(Path.Combine(zoo, "config.pbtxt")).Replace("name: \"fraud\"", $"name: \"{name}\"", StringComparison.Ordinal);
            File.WriteAllText(Path.Combine(dir, "config.pbtxt"), name == "cached" ? config + "\nresponse_cache { enable: true }\n" : config);
        }

        _repository = new ModelRepository(_root, [new OnnxBackend(new OnnxBackendOptions { IntraOpThreads = 1 })]);
        _repository.Load("cached");
        _repository.Load("plain");
        _service = new InferenceService(_repository);
        _same = Request("cached", _features);
        _service.InferDirect(_same);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _repository.Dispose();
        Directory.Delete(_root, recursive: true);
    }

    private static InferenceRequest Request(string model, float[] features) =>
        new() { ModelName = model, Inputs = [new NamedTensor("features", Tensor.Create(features, 1, 6))] };

    [Benchmark(Baseline = true)]
    public InferenceResponse NoCache() => _service.InferDirect(Request("plain", _features));

    [Benchmark]
    public InferenceResponse Miss()
    {
        // Another transaction each call (floats are exact below 2^24): never seen, so it runs the model and inserts
        // (and, once 64 MiB fill, evicts).
        var n = _next++;
        float[] features = [n % 1_000_000, 40, 7, 3, 850, n / 1_000_000];
        return _service.InferDirect(Request("cached", features));
    }

    [Benchmark]
    public InferenceResponse Hit() => _service.InferDirect(_same);
}
