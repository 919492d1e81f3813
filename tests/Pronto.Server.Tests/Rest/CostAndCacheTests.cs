using System.Globalization;
using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Pronto.Core.Inference;
using Pronto.Server.Tests.Grpc;
using Pronto.Server.Tests.GrpcClient;
using static Pronto.Server.Tests.Rest.Rest;

namespace Pronto.Server.Tests.Rest;

/// <summary>
/// The engine's cost and the response cache through a real server on fraud: /metrics, the statistics extension over
/// REST and gRPC, and a hit's response bytes against the miss's, for JSON and binary requests.
/// </summary>
public sealed class CostAndCacheTests
{
    /// <summary>Each engine run reads the clock twice, so one run costs exactly one step: 250 us.</summary>
    private const long StepNs = 250_000;

    private static async Task<(ProntoServer Server, HttpClient Http, TempRepository Repository)> StartAsync(bool cache, Action<ProntoServerOptions>? configure = null, bool fakeClock = true)
    {
        var repository = new TempRepository("fraud");
        if (cache)
        {
            File.AppendAllText(Path.Combine(repository.Root, "fraud", "config.pbtxt"), "\nresponse_cache { enable: true }\n");
        }

        var server = await ServerFixture.StartAsync(
            options =>
            {
                options.ModelRepository = repository.Root;
                configure?.Invoke(options);
            },
            services: fakeClock ? s => s.AddSingleton<CpuClock>(new SteppingCpuClock(StepNs)) : null);
        return (server, new HttpClient { BaseAddress = server.HttpUri }, repository);
    }

    private static async Task StopAsync(ProntoServer server, HttpClient http, TempRepository repository)
    {
        http.Dispose();
        await server.StopAsync();
        await server.DisposeAsync();
        repository.Dispose();
    }

    [Fact]
    public async Task Engine_cpu_seconds_and_their_price_are_on_metrics_and_in_the_statistics_over_rest_and_grpc()
    {
        var (server, http, repository) = await StartAsync(cache: false, o => o.PricePerCpuHour = 3.6);
        try
        {
            for (var i = 0; i < 3; i++)
            {
                Assert.Equal(HttpStatusCode.OK, (await PostAsync(http, "/v2/models/fraud/infer", FeaturesBody)).Status);
            }

            var batch = """{"inputs":[{"name":"features","shape":[2,6],"datatype":"FP32","data":[1,2,3,4,5,6,7,8,9,10,11,12]}]}""";
            Assert.Equal(HttpStatusCode.OK, (await PostAsync(http, "/v2/models/fraud/infer", batch)).Status);

            // 4 executions of 5 inferences: 1 ms of engine CPU; at 3.6 per CPU hour, 0.000001.
            const double cpu = 4 * StepNs / 1e9;
            var text = await http.GetStringAsync("/metrics");
            Assert.Equal(cpu, Value(text, "pronto_cost_cpu_seconds_total", """model="fraud",version="1" """), 12);
            Assert.Equal(cpu * 1000 / 5, Value(text, "pronto_cost_cpu_seconds_per_1000_inferences", """model="fraud",version="1" """), 12);
            Assert.Equal(cpu * 3.6 / 3600, Value(text, "pronto_cost_total", """model="fraud",version="1" """), 15);

            // A model without response_cache reports no cache counters.
            Assert.DoesNotContain("nv_cache_num_hits_per_model{", text, StringComparison.Ordinal);

            var (status, stats) = await GetAsync(http, "/v2/models/fraud/stats");
            Assert.Equal(HttpStatusCode.OK, status);
            var model = stats.GetProperty("model_stats")[0];
            Assert.Equal(cpu, model.GetProperty("cost_cpu_seconds").GetDouble(), 12);
            Assert.Equal(cpu * 1000 / 5, model.GetProperty("cost_cpu_seconds_per_1000_inferences").GetDouble(), 12);
            Assert.Equal(cpu * 3.6 / 3600, model.GetProperty("cost").GetDouble(), 15);

            using var grpc = new GrpcConnection(server);
            var reply = await grpc.Client.ModelStatisticsAsync(new ModelStatisticsRequest { Name = "fraud" });
            var g = Assert.Single(reply.ModelStats);
            Assert.Equal(cpu, g.CostCpuSeconds, 12);
            Assert.Equal(cpu * 1000 / 5, g.CostCpuSecondsPer1000Inferences, 12);
            Assert.Equal(cpu * 3.6 / 3600, g.Cost, 15);
        }
        finally
        {
            await StopAsync(server, http, repository);
        }
    }

    [Fact]
    public async Task Without_a_price_there_is_no_money_metric_or_field()
    {
        var (server, http, repository) = await StartAsync(cache: false);
        try
        {
            Assert.Equal(HttpStatusCode.OK, (await PostAsync(http, "/v2/models/fraud/infer", FeaturesBody)).Status);
            var text = await http.GetStringAsync("/metrics");
            Assert.Equal(StepNs / 1e9, Value(text, "pronto_cost_cpu_seconds_total", """model="fraud",version="1" """), 12);
            Assert.DoesNotContain("pronto_cost_total", text, StringComparison.Ordinal);
            var (_, stats) = await GetAsync(http, "/v2/models/fraud/stats");
            Assert.False(stats.GetProperty("model_stats")[0].TryGetProperty("cost", out _));
        }
        finally
        {
            await StopAsync(server, http, repository);
        }
    }

    [Fact]
    public async Task Measuring_off_leaves_the_cost_at_zero()
    {
        var (server, http, repository) = await StartAsync(cache: false, o => o.MeasureEngineCpu = false, fakeClock: false);
        try
        {
            Assert.Equal(HttpStatusCode.OK, (await PostAsync(http, "/v2/models/fraud/infer", FeaturesBody)).Status);
            var text = await http.GetStringAsync("/metrics");
            Assert.Equal(1, Value(text, "nv_inference_exec_count", """model="fraud",version="1" """));
            Assert.Equal(0, Value(text, "pronto_cost_cpu_seconds_total", """model="fraud",version="1" """));
        }
        finally
        {
            await StopAsync(server, http, repository);
        }
    }

    [Fact]
    public async Task A_hit_answers_json_binary_and_grpc_requests_with_the_miss_s_bytes_and_is_counted()
    {
        var (server, http, repository) = await StartAsync(cache: true);
        try
        {
            // JSON in and out: the miss, then the hit, byte for byte.
            var jsonMiss = await PostBytesAsync(http, new HttpRequestMessage(HttpMethod.Post, "/v2/models/fraud/infer") { Content = Json(FeaturesBody) });
            var jsonHit = await PostBytesAsync(http, new HttpRequestMessage(HttpMethod.Post, "/v2/models/fraud/infer") { Content = Json(FeaturesBody) });
            Assert.Equal(jsonMiss, jsonHit);

            // Binary in and out, another transaction: its miss, then its hit, byte for byte.
            const string header = """{"id":"42","inputs":[{"name":"features","shape":[1,6],"datatype":"FP32","parameters":{"binary_data_size":24}}],"outputs":[{"name":"probabilities","parameters":{"binary_data":true}}]}""";
            var other = Raw([42.5f, 50, 0, 18, 3, 1]);
            var binaryMiss = await PostBytesAsync(http, Binary("/v2/models/fraud/infer", header, other));
            var binaryHit = await PostBytesAsync(http, Binary("/v2/models/fraud/infer", header, other));
            Assert.Equal(binaryMiss, binaryHit);

            // The JSON request's tensor sent as binary hits the JSON request's entry: the key is the tensor's bytes.
            float[] features = [912.5f, 40, 7, 3, 850, 5];
            var crossHit = await PostBytesAsync(http, Binary("/v2/models/fraud/infer", header, Raw(features)));

            using var grpc = new GrpcConnection(server);
            var request = new ModelInferRequest { ModelName = "fraud", Id = "42" };
            request.Inputs.Add(GrpcTensors.Input("features", "FP32", 1, 6));
            request.RawInputContents.Add(GrpcTensors.Raw(features));
            var grpcHit = await grpc.Client.ModelInferAsync(request);
            var probabilities = GrpcTensors.Floats(Assert.Single(grpcHit.RawOutputContents));

            // Every transport got the miss's numbers.
            using var missDoc = System.Text.Json.JsonDocument.Parse(jsonMiss);
            var fromJson = missDoc.RootElement.GetProperty("outputs")[0].GetProperty("data").EnumerateArray().Select(e => e.GetSingle()).ToArray();
            Assert.Equal(fromJson, probabilities);
            Assert.Equal(Raw(fromJson), crossHit[^8..]);

            // Two misses, four hits, two engine executions; the cost is those two runs'.
            var text = await http.GetStringAsync("/metrics");
            Assert.Equal(2, Value(text, "nv_cache_num_misses_per_model", """model="fraud",version="1" """));
            Assert.Equal(4, Value(text, "nv_cache_num_hits_per_model", """model="fraud",version="1" """));
            Assert.Equal(6, Value(text, "nv_inference_request_success", """model="fraud",version="1" """));
            Assert.Equal(2, Value(text, "nv_inference_exec_count", """model="fraud",version="1" """));
            Assert.Equal(2 * StepNs / 1e9, Value(text, "pronto_cost_cpu_seconds_total", """model="fraud",version="1" """), 12);
            Assert.Equal(2, Value(text, "pronto_response_cache_entries", ""));

            var (_, stats) = await GetAsync(http, "/v2/models/fraud/stats");
            var inference = stats.GetProperty("model_stats")[0].GetProperty("inference_stats");
            Assert.Equal(4, inference.GetProperty("cache_hit").GetProperty("count").GetInt64());
            Assert.Equal(2, inference.GetProperty("cache_miss").GetProperty("count").GetInt64());
            var (_, config) = await GetAsync(http, "/v2/models/fraud/config");
            Assert.True(config.GetProperty("response_cache").GetProperty("enable").GetBoolean());
            var g = Assert.Single((await grpc.Client.ModelStatisticsAsync(new ModelStatisticsRequest { Name = "fraud" })).ModelStats);
            Assert.Equal((4UL, 2UL), (g.InferenceStats.CacheHit.Count, g.InferenceStats.CacheMiss.Count));
        }
        finally
        {
            await StopAsync(server, http, repository);
        }
    }

    private static byte[] Raw(float[] values) => values.SelectMany(BitConverter.GetBytes).ToArray();

    private static async Task<byte[]> PostBytesAsync(HttpClient http, HttpRequestMessage request)
    {
        using var owned = request;
        using var response = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadAsByteArrayAsync();
    }

    /// <summary>The value of the one sample <c>name{labels} value</c>; empty labels for an unlabelled metric.</summary>
    private static double Value(string text, string name, string labels)
    {
        var prefix = labels.Trim().Length == 0 ? $"{name} " : $"{name}{{{labels.Trim()}}} ";
        var line = text.Split('\n').Where(l => l.StartsWith(prefix, StringComparison.Ordinal)).ToList();
        Assert.True(line.Count == 1, $"expected one sample {prefix}in:\n{string.Join('\n', text.Split('\n').Where(l => l.StartsWith(name, StringComparison.Ordinal)))}");
        return double.Parse(line[0][(line[0].LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// A per-thread clock that moves <paramref name="step"/> ns per reading on the reading thread, as a thread CPU clock
    /// moves only with its own thread: one reading before and one after a run, so each run costs exactly one step.
    /// </summary>
    private sealed class SteppingCpuClock(long step) : CpuClock
    {
        private readonly ThreadLocal<long> _now = new();

        public override long GetThreadCpuNanoseconds() => _now.Value += step;
    }
}
