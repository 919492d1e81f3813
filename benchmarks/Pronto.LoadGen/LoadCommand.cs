using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using Pronto.Core.Errors;
using Pronto.Core.Inference;
using Pronto.Core.Protocol;

namespace Pronto.LoadGen;

/// <summary>
/// The <c>Pronto.LoadGen</c> command line: one request body, one transport, a closed loop (one concurrency or a
/// sweep) or an open loop (one Poisson rate or a sweep). Each run prints one markdown table row on stdout and, with
/// <c>--json-out</c>, appends one JSON line to a file; errors, checks and send lag go to stderr.
/// Exit code 0 when every request succeeded, 1 when any failed or mismatched, 2 for bad options or set-up.
/// </summary>
internal static class LoadCommand
{
    private static readonly Option<Uri> Url = new("--url") { Description = "The server's HTTP address.", CustomParser = AbsoluteUri, DefaultValueFactory = _ => new Uri("http://127.0.0.1:8000") };
    private static readonly Option<Uri> GrpcUrl = new("--grpc-url") { Description = "The server's gRPC address.", CustomParser = AbsoluteUri, DefaultValueFactory = _ => new Uri("http://127.0.0.1:8001") };
    private static readonly Option<string> Model = new("--model") { Description = "The model to send to.", Required = true };
    private static readonly Option<FileInfo> Body = new("--body") { Description = "The request: an Open Inference Protocol v2 JSON body (benchmarks/bodies/*.json).", Required = true };
    private static readonly Option<string> Transport = new Option<string>("--transport") { Description = "json (REST JSON), binary (REST, binary tensor extension) or grpc (raw contents).", DefaultValueFactory = _ => "json" }.AcceptOnlyFromAmong("json", "binary", "grpc");
    private static readonly Option<int> Requests = new("--requests") { Description = "Requests per run, warm-up excluded.", DefaultValueFactory = _ => 1000 };
    private static readonly Option<int?> Concurrency = new("--concurrency") { Description = "Closed loop: requests in flight (default 1)." };
    private static readonly Option<int[]?> Sweep = new("--sweep") { Description = "Closed loop, one run per concurrency, e.g. 1,2,4,8,16,32,64.", CustomParser = CommaList<int> };
    private static readonly Option<double?> Rate = new("--rate") { Description = "Open loop: Poisson arrivals at this mean rate (requests per second)." };
    private static readonly Option<double[]?> RateSweep = new("--rate-sweep") { Description = "Open loop, one run per rate, ascending, e.g. 1000,2000,4000.", CustomParser = CommaList<double> };
    private static readonly Option<double?> P99Bound = new("--p99-bound-us") { Description = "With --rate-sweep: stop at the first rate whose p99 (or errors) misses this bound and report the highest that met it." };
    private static readonly Option<double?> Duration = new("--duration") { Description = "Open loop: seconds of schedule per run (requests = rate x duration), instead of --requests." };
    private static readonly Option<int> Seed = new("--seed") { Description = "Open loop: seed of the arrival schedule.", DefaultValueFactory = _ => 1 };
    private static readonly Option<int> Warmup = new("--warmup") { Description = "Requests sent one at a time before the first run, not counted.", DefaultValueFactory = _ => 100 };
    private static readonly Option<string?> Label = new("--label") { Description = "The row's label (default: the body file's name)." };
    private static readonly Option<FileInfo?> JsonOut = new("--json-out") { Description = "Append each run as one JSON object per line to this file." };
    private static readonly Option<DirectoryInfo?> CheckRepository = new("--check-repository") { Description = "A model repository: run the request once in-process and compare sampled responses with it." };
    private static readonly Option<int> CheckEvery = new("--check-every") { Description = "With --check-repository: check request 0, k, 2k, ...", DefaultValueFactory = _ => 100 };
    private static readonly Option<int?> ServerPid = new("--server-pid") { Description = "The server's process id on this machine: report its CPU time per request over each measured run (Linux /proc)." };
    private static readonly Option<bool> ServerStats = new("--server-stats") { Description = "Read the model's statistics before and after each measured run: rows per engine run (the batches the server formed)." };

    public static async Task<int> RunAsync(string[] args)
    {
        var root = new RootCommand("Load generator for the Open Inference Protocol v2 (REST JSON, REST binary, gRPC).")
        {
            Url, GrpcUrl, Model, Body, Transport, Requests, Concurrency, Sweep, Rate, RateSweep, P99Bound, Duration, Seed, Warmup,
            Label, JsonOut, CheckRepository, CheckEvery, ServerPid, ServerStats,
        };
        root.SetAction((parse, cancellationToken) => RunAsync(parse, cancellationToken));

        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            foreach (var e in parse.Errors)
            {
                await Console.Error.WriteLineAsync($"error: {e.Message}");
            }

            return 2;
        }

        try
        {
            return await parse.InvokeAsync(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
        }
        catch (ProntoException e)
        {
            await Console.Error.WriteLineAsync($"error: {e.Message}");
            return 2;
        }
    }

    /// <summary>Checks what the parser cannot: option combinations and ranges. Throws naming the option.</summary>
    private static void Validate(ParseResult parse)
    {
        var loops = new Option[] { Concurrency, Sweep, Rate, RateSweep }.Count(o => parse.GetResult(o) is not null);
        Require(loops <= 1, "give one of --concurrency, --sweep, --rate or --rate-sweep");
        var open = parse.GetResult(Rate) is not null || parse.GetResult(RateSweep) is not null;
        Require(open || parse.GetResult(Duration) is null, "--duration goes with --rate or --rate-sweep");
        Require(parse.GetResult(RateSweep) is not null || parse.GetResult(P99Bound) is null, "--p99-bound-us goes with --rate-sweep");
        Require(parse.GetValue(Requests) > 0, "--requests must be positive");
        Require(parse.GetValue(Concurrency) is null or > 0, "--concurrency must be positive");
        Require(parse.GetValue(Rate) is null or > 0, "--rate must be positive");
        Require(parse.GetValue(Duration) is null or > 0, "--duration must be positive");
        Require(parse.GetValue(Warmup) >= 0, "--warmup must not be negative");
        Require(parse.GetValue(CheckEvery) > 0, "--check-every must be positive");
        Require(parse.GetValue(ServerPid) is not { } pid || Directory.Exists($"/proc/{pid}"), "--server-pid: no such process (or no /proc)");
        Require(parse.GetValue(Sweep) is not { } sweep || sweep.All(c => c > 0), "--sweep takes positive concurrencies");
        Require(parse.GetValue(RateSweep) is not { } rates || rates.All(r => r > 0), "--rate-sweep takes positive rates");
    }

    private static void Require(bool condition, string message)
    {
        if (!condition)
        {
            ProntoErrors.InvalidArgument(message);
        }
    }

    private static T[]? CommaList<T>(ArgumentResult result) where T : ISpanParsable<T>
    {
        var text = result.Tokens.Count == 1 ? result.Tokens[0].Value : "";
        var items = text.Split(',', StringSplitOptions.TrimEntries);
        var values = new T[items.Length];
        for (var i = 0; i < items.Length; i++)
        {
            if (!T.TryParse(items[i], CultureInfo.InvariantCulture, out values[i]!))
            {
                result.AddError($"'{text}' is not a comma-separated list of numbers");
                return null;
            }
        }

        return values;
    }

    private static Uri? AbsoluteUri(ArgumentResult result)
    {
        var text = result.Tokens.Count == 1 ? result.Tokens[0].Value : "";
        if (Uri.TryCreate(text, UriKind.Absolute, out var uri))
        {
            return uri;
        }

        result.AddError($"'{text}' is not an absolute URL such as http://127.0.0.1:8000");
        return null;
    }

    private static async Task<int> RunAsync(ParseResult parse, CancellationToken cancellationToken)
    {
        Validate(parse);
        var model = parse.GetValue(Model)!;
        var body = parse.GetValue(Body)!;
        if (!body.Exists)
        {
            ProntoErrors.NotFound($"--body: request file '{body.FullName}' does not exist");
        }

        var json = await File.ReadAllBytesAsync(body.FullName, cancellationToken);
        var request = InferenceJson.ReadRequest(json, model, null).Request;
        using IInferenceTransport transport = parse.GetValue(Transport) switch
        {
            "binary" => new HttpBinaryTransport(parse.GetValue(Url)!, request),
            "grpc" => new GrpcTransport(parse.GetValue(GrpcUrl)!, request),
            _ => new HttpJsonTransport(parse.GetValue(Url)!, model, json),
        };
        var check = parse.GetValue(CheckRepository) is { } repository
            ? ResponseCheck.FromRepository(repository.FullName, request, parse.GetValue(CheckEvery))
            : null;
        var runs = new Runs(parse, model, transport.Name, parse.GetValue(Label) ?? Path.GetFileNameWithoutExtension(body.Name));
        using var probe = new ServerProbe(
            parse.GetValue(ServerPid),
            parse.GetValue(ServerStats) ? new Uri(parse.GetValue(Url)!, $"v2/models/{Uri.EscapeDataString(model)}/stats") : null);

        await ClosedLoop.WarmUpAsync(transport, parse.GetValue(Warmup), cancellationToken);
        var rates = parse.GetValue(RateSweep) is { Length: > 0 } rateSweep ? rateSweep : parse.GetValue(Rate) is { } single ? [single] : null;
        if (rates is null)
        {
            var requests = parse.GetValue(Requests);
            foreach (var concurrency in parse.GetValue(Sweep) is { Length: > 0 } sweep ? sweep : [parse.GetValue(Concurrency) ?? 1])
            {
                await probe.StartAsync(cancellationToken);
                var result = await ClosedLoop.RunAsync(transport, requests, concurrency, check, cancellationToken);
                runs.Report(concurrency, null, result, probe.Enabled ? await probe.StopAsync(cancellationToken) : null);
            }

            return runs.ExitCode;
        }

        var bound = parse.GetValue(P99Bound);
        double? best = null;
        foreach (var rate in rates)
        {
            var requests = parse.GetValue(Duration) is { } seconds ? (int)Math.Ceiling(rate * seconds) : parse.GetValue(Requests);
            await probe.StartAsync(cancellationToken);
            var result = await OpenLoop.RunAsync(transport, rate, requests, parse.GetValue(Seed), check, cancellationToken);
            runs.Report(null, rate, result, probe.Enabled ? await probe.StopAsync(cancellationToken) : null);
            if (bound is { } limit)
            {
                if (result.Errors > 0 || result.Percentile(99) > limit)
                {
                    break;
                }

                best = rate;
            }
        }

        if (bound is { } p99)
        {
            Console.WriteLine(best is { } highest
                ? string.Create(CultureInfo.InvariantCulture, $"highest rate with p99 <= {p99} us: {highest}/s")
                : string.Create(CultureInfo.InvariantCulture, $"no rate met p99 <= {p99} us"));
        }

        return runs.ExitCode;
    }

    /// <summary>Reports the runs of one invocation: stdout rows, JSON lines, stderr notes; remembers whether any failed.</summary>
    private sealed class Runs(ParseResult parse, string model, string transport, string label)
    {
        private readonly FileInfo? _jsonOut = parse.GetValue(JsonOut);

        public int ExitCode { get; private set; }

        public void Report(int? concurrency, double? rate, LoadResult result, ServerObservation? server)
        {
            var report = new LoadReport(label, model, transport, concurrency, rate, result) { Server = server };
            Console.WriteLine(report.MarkdownRow());
            if (_jsonOut is not null)
            {
                File.AppendAllText(_jsonOut.FullName, report.JsonLine() + "\n");
            }

            if (result.Errors > 0)
            {
                ExitCode = 1;
                Console.Error.WriteLine($"{label}: {result.Errors} of {result.Requests} requests failed; first: {result.FirstError}");
            }

            if (result.Checked > 0)
            {
                Console.Error.WriteLine($"{label}: checked {result.Checked} responses against the direct run, {result.Mismatches} mismatches"
                    + (result.FirstMismatch is null ? "" : $"; first: {result.FirstMismatch}"));
            }

            if (server?.CpuUsPerRequest(result.Requests) is { } cpu)
            {
                Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{label}: server CPU {cpu:F1} us per request ({server.CpuSource})"));
            }

            if (server?.MeanBatch is { } batch)
            {
                Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{label}: server ran {server.Inferences} rows in {server.Executions} engine runs, {batch:F2} a run"));
            }

            if (result.SendLagP99Us is { } lag)
            {
                Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{label}: p99 send lag behind the schedule {lag:F0} us"));
            }
        }
    }
}
