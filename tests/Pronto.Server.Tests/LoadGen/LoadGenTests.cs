using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Pronto.Core.Inference;
using Pronto.Core.Protocol;
using Pronto.Core.Tensors;
using Pronto.LoadGen;

namespace Pronto.Server.Tests.LoadGen;

/// <summary>The load generator's pure pieces, and its three transports against a real server.</summary>
[Collection(ServerCollection.Name)]
public sealed class LoadGenTests(ServerFixture fixture)
{
    private const string FieldsBody = """
        {"inputs":[{"name":"fields","shape":[2],"datatype":"BYTES","data":[
          "{\"amount\": 912.5, \"customer_avg_amount\": 40, \"merchant_category\": 7, \"hour\": 3, \"distance_km\": 850, \"txn_last_hour\": 5}",
          "{\"amount\": 42.5, \"customer_avg_amount\": 50, \"merchant_category\": 0, \"hour\": 18, \"distance_km\": 3, \"txn_last_hour\": 1}"]}]}
        """;

    private const string ClassificationBody = """
        {"inputs":[{"name":"features","shape":[1,6],"datatype":"FP32","data":[912.5,40,7,3,850,5]}],
         "outputs":[{"name":"probabilities","parameters":{"classification":2}}]}
        """;

    private const string BinaryOutputBody = """
        {"parameters":{"binary_data_output":true},"inputs":[{"name":"features","shape":[1,6],"datatype":"FP32","data":[912.5,40,7,3,850,5]}]}
        """;

    [Fact]
    public void Percentiles_are_nearest_rank()
    {
        var sorted = Enumerable.Range(1, 100).Select(i => (double)i).ToArray();

        Assert.Equal([50.0, 90.0, 99.0, 100.0], [LoadResult.NearestRank(sorted, 50), LoadResult.NearestRank(sorted, 90), LoadResult.NearestRank(sorted, 99), LoadResult.NearestRank(sorted, 100)]);
        Assert.Equal(7.0, LoadResult.NearestRank([7.0], 1));
        Assert.Equal(2.0, LoadResult.NearestRank([1.0, 2.0, 3.0], 50));
        Assert.True(double.IsNaN(LoadResult.NearestRank([], 50)));
    }

    [Fact]
    public void Poisson_schedule_is_seeded_ascending_and_has_the_rates_mean_gap()
    {
        const int Count = 100_001;
        var times = PoissonSchedule.Create(rate: 1000, Count, seed: 7);

        Assert.Equal(0.0, times[0]);
        Assert.True(times.AsSpan().SequenceEqual(PoissonSchedule.Create(1000, Count, seed: 7)));
        Assert.False(times.AsSpan().SequenceEqual(PoissonSchedule.Create(1000, Count, seed: 8)));
        for (var i = 1; i < times.Length; i++)
        {
            Assert.True(times[i] >= times[i - 1]);
        }

        // 100,000 exponential gaps of mean 1 ms: the sample mean lies within 1 % (about three standard errors).
        Assert.InRange(times[^1] / (Count - 1), 0.00099, 0.00101);
    }

    [Fact]
    public void A_check_accepts_rounding_within_the_tolerance_and_names_the_first_difference()
    {
        var check = new ResponseCheck([Output("p", Tensor.Create([0.25f, 1000f], 1, 2)), Output("label", Tensor.FromStrings(["fraud"]))], every: 1);

        Assert.Null(check.Compare([Output("label", Tensor.FromStrings(["fraud"])), Output("p", Tensor.Create([0.25001f, 1000.05f], 1, 2))]));
        Assert.Equal("output 'p' element 1: 1000.5, the direct run 1000 (tolerance 0.0001)",
            check.Compare([Output("p", Tensor.Create([0.25f, 1000.5f], 1, 2)), Output("label", Tensor.FromStrings(["fraud"]))]));
        Assert.Equal("output 'label' element 0: 'legit', the direct run 'fraud'",
            check.Compare([Output("p", Tensor.Create([0.25f, 1000f], 1, 2)), Output("label", Tensor.FromStrings(["legit"]))]));
        Assert.Equal("output 'p' is FP32[2], the direct run's FP32[1,2]",
            check.Compare([Output("p", Tensor.Create([0.25f, 1000f], 2)), Output("label", Tensor.FromStrings(["fraud"]))]));
        Assert.Equal("output 'label' is missing", check.Compare([Output("p", Tensor.Create([0.25f, 1000f], 1, 2)), Output("x", Tensor.FromStrings(["fraud"]))]));
    }

    /// <summary>
    /// Each transport converts the JSON body itself (binary extension, gRPC raw contents with length-prefixed BYTES)
    /// and decodes the answers (JSON, binary outputs, raw_output_contents): every answer matches the direct run.
    /// </summary>
    [Theory]
    [InlineData("json", FieldsBody)]
    [InlineData("binary", FieldsBody)]
    [InlineData("grpc", FieldsBody)]
    [InlineData("json", ClassificationBody)]
    [InlineData("binary", ClassificationBody)]
    [InlineData("grpc", ClassificationBody)]
    [InlineData("json", BinaryOutputBody)]
    [InlineData("binary", BinaryOutputBody)]
    [InlineData("grpc", BinaryOutputBody)]
    public async Task Every_transport_gets_the_direct_runs_outputs(string transportName, string body)
    {
        var json = Encoding.UTF8.GetBytes(body);
        var request = InferenceJson.ReadRequest(json, "fraud", null).Request;
        var direct = fixture.Server.Services.GetRequiredService<InferenceService>().InferDirect(request);
        using IInferenceTransport transport = transportName switch
        {
            "json" => new HttpJsonTransport(fixture.Server.HttpUri, "fraud", json),
            "binary" => new HttpBinaryTransport(fixture.Server.HttpUri, request),
            _ => new GrpcTransport(fixture.Server.GrpcUri, request),
        };

        var result = await ClosedLoop.RunAsync(transport, requests: 4, concurrency: 2, new ResponseCheck(direct.Outputs, every: 1));

        Assert.Equal((4, 0, 4, 0, null), (result.Requests, result.Errors, result.Checked, result.Mismatches, result.FirstError));
    }

    [Fact]
    public async Task An_error_status_is_counted_with_its_message()
    {
        var request = InferenceJson.ReadRequest(Encoding.UTF8.GetBytes(FieldsBody), "no_such_model", null).Request;
        using var transport = new GrpcTransport(fixture.Server.GrpcUri, request);

        var result = await OpenLoop.RunAsync(transport, rate: 1000, requests: 3);

        Assert.Equal((3, 3), (result.Requests, result.Errors));
        Assert.StartsWith("NotFound: ", result.FirstError);
    }

    [Fact]
    public void Proc_stat_times_are_read_after_the_command_name()
    {
        // comm may hold spaces and parentheses; utime and stime are fields 14 and 15.
        const string Stat = "4242 (a) (b c) S 1 4242 4242 0 -1 4194560 900 0 0 0 1234 56 0 0 20 0 23 0 1047309 3133440 390";

        Assert.Equal(1290, ServerCpu.ParseStatTicks(Stat));
        Assert.Equal(2871203, ServerCpu.ParseSchedstat("2871203 1500 17\n"));
    }

    [Fact]
    public void Server_cpu_is_the_threads_exact_sum_unless_one_exited_then_the_larger_of_the_total_and_the_survivors()
    {
        var before = new ServerCpuSample(100, new Dictionary<int, long> { [1] = 5_000_000, [2] = 1_000_000 });
        var grown = new ServerCpuSample(103, new Dictionary<int, long> { [1] = 25_000_000, [2] = 1_500_000, [3] = 4_000_000 });
        var shrunk = new ServerCpuSample(103, new Dictionary<int, long> { [1] = 25_000_000 });

        Assert.Equal((0.0245, "schedstat"), ServerCpu.Between(before, grown));
        Assert.Equal((0.03, "stat"), ServerCpu.Between(before, shrunk));

        // The process total has not ticked yet (10 ms resolution) but a surviving thread ran: its exact time.
        var unticked = new ServerCpuSample(100, new Dictionary<int, long> { [1] = 9_000_000 });
        Assert.Equal((0.004, "stat"), ServerCpu.Between(before, unticked));
    }

    /// <summary>The probe reads this process (the server runs in it) and the model's statistics around a run.</summary>
    [Fact]
    public async Task The_server_probe_counts_the_runs_rows_and_reads_cpu_time()
    {
        var json = Encoding.UTF8.GetBytes(BinaryOutputBody);
        using var transport = new HttpJsonTransport(fixture.Server.HttpUri, "fraud", json);
        using var probe = new ServerProbe(Environment.ProcessId, new Uri(fixture.Server.HttpUri, "v2/models/fraud/stats"));

        await probe.StartAsync();
        await ClosedLoop.RunAsync(transport, requests: 6, concurrency: 2);
        var observed = await probe.StopAsync();

        Assert.Equal((6L, 6L, 1.0), (observed.Inferences, observed.Executions, observed.MeanBatch));
        Assert.Contains(observed.CpuSource, new[] { "schedstat", "stat" });
        Assert.True(observed.CpuSeconds > 0, "serving six requests took no CPU time");
    }

    private static NamedTensor Output(string name, Tensor tensor) => new(name, tensor);
}
