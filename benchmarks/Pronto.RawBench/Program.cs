using Pronto.Core.Errors;
using Pronto.Models;
using Pronto.Onnx;
using Pronto.RawBench;

// Raw ONNX Runtime, the limit Pronto is compared with: Pronto.Onnx's backend (the server's session options and shared
// intra-op pool, --threads of it; 0 = the CPUs this process may use, the server's default) running one model in a loop
// on inputs built before the clock starts. Models are names in --repository (default: the bundled zoo).
//   throughput --model NAME [--batch 1,8,32] [--seconds 10]   saturated rows/s, one run after another
//   latency    --model NAME [--batch 1] [--runs 1000]          p50 / p99 of single runs, microseconds
//   peak       [--batch 1024] [--seconds 10]                   FP32 GFLOP/s of a generated chain of 2048 x 2048 MatMuls
//   flops      --model FILE.onnx                               FLOPs of one sample, counted from the graph
//   gflops     --model NAME [--batch 1] [--seconds 10]         the peak, then throughput with GFLOP/s = FLOPs/row x rows/s
//                                                              and its share of that peak (same threads, same process)
//   embed      --model NAME --data FILE|FOLDER [--batch 32] [--runs 1]
//                                                              rows/s over the texts (a text,label CSV) or images (an
//                                                              ImageFolder) pronto finetune embeds, --runs passes
// Every mode prints markdown table rows; --json-out FILE writes them as a JSON array too.
var mode = args.Length > 0 ? args[0] : "";
if (mode is not ("throughput" or "latency" or "peak" or "flops" or "gflops" or "embed"))
{
    Console.Error.WriteLine("usage: Pronto.RawBench throughput|latency|peak|flops|gflops|embed [--model M] [--data FILE|FOLDER] [--repository DIR] [--batch B,..] [--threads T] [--seconds S] [--runs N] [--json-out FILE]");
    return 2;
}

Options options;
List<Row> rows;
try
{
    options = new Options(args.AsSpan(1));
    rows = mode == "flops" ? [Flops(options.Required("model"))] : Measured(mode, options);
}
catch (Exception e) when (e is ArgumentException or InvalidOperationException or FormatException or ProntoException)
{
    Console.Error.WriteLine($"Pronto.RawBench {mode}: {e.Message}");
    return 1;
}

Console.WriteLine($"machine: {Environment.ProcessorCount} CPUs visible, {CpuModel()}");
Console.WriteLine(Report.Header);
foreach (var row in rows)
{
    Console.WriteLine(Report.Markdown(row));
}

if (options.Text("json-out") is { } jsonOut)
{
    Report.WriteJson(jsonOut, rows);
}

return 0;

static Row Flops(string path)
{
    var count = FlopCounter.Count(path);
    foreach (var (op, flops) in count.ByOperator)
    {
        Console.Error.WriteLine($"{op}: {flops / 1e9:F4} GFLOP");
    }

    return new Row("flops", path) { GflopPerRow = count.Total / 1e9 };
}

static List<Row> Measured(string mode, Options options)
{
    var backend = new OnnxBackend(new OnnxBackendOptions { IntraOpThreads = options.Int("threads", 0) });
    var seconds = options.Double("seconds", 10);
    if (mode == "peak")
    {
        return [Peak.Measure(backend, options.Ints("batch", [1024])[0], seconds)];
    }

    var repository = options.Text("repository") ?? BundledZoo();
    var rows = new List<Row>();

    // gflops: the peak first, at the same threads in the same process; the model's share of it is the figure.
    var peak = mode == "gflops" ? Peak.Measure(backend, 1024, seconds) : null;
    if (peak is not null)
    {
        rows.Add(peak);
    }

    using var model = new RawModel(backend, repository, options.Required("model"));
    if (mode == "embed")
    {
        return [Embed.Measure(model, options.Required("data"), options.Ints("batch", [32])[0], backend.IntraOpThreads, options.Int("runs", 1))];
    }

    var flops = peak is null ? 0 : FlopCounter.Count(model.FilePath).Total;
    foreach (var batch in options.Ints("batch", mode == "throughput" ? [1, 8, 32] : [1]))
    {
        var row = mode == "latency"
            ? Measure.Latency(model, batch, backend.IntraOpThreads, options.Int("runs", 1000))
            : Measure.Throughput(model, batch, backend.IntraOpThreads, seconds);
        rows.Add(peak is null ? row : row.WithFlops(flops, peak.GflopPerSecond));
    }

    return rows;
}

static string BundledZoo()
{
    var root = ZooPaths.DefaultRepository();
    BundledRepository.Ensure(root);
    return root;
}

static string CpuModel() => File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':')[1].Trim() ?? "unknown CPU";
