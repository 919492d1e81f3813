using System.Net;
using Microsoft.Extensions.Time.Testing;
using static Pronto.Server.Tests.Rest.Rest;

namespace Pronto.Server.Tests.Rest;

/// <summary>A real server with --idle-unload-seconds on a fake clock: the model unloads when idle, stays servable, and the next request loads it.</summary>
public sealed class ScaleToZeroTests
{
    [Fact]
    public async Task An_idle_model_unloads_stays_ready_and_the_next_request_loads_it_on_demand()
    {
        using var repository = new TempRepository("fraud");
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-12-04T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        await using var server = await ServerFixture.StartAsync(
            options =>
            {
                options.ModelRepository = repository.Root;
                options.IdleUnloadSeconds = 60;
            },
            time);
        using var http = new HttpClient { BaseAddress = server.HttpUri };
        var first = await PostAsync(http, "/v2/models/fraud/infer", FeaturesBody);
        Assert.Equal(HttpStatusCode.OK, first.Status);

        time.Advance(TimeSpan.FromSeconds(60));
        Assert.Equal(["fraud"], server.Repository.Index().Where(r => r.Version is null).Select(r => r.Name));
        Assert.Equal("unloaded after 60 s idle; loads on the next request", Assert.Single(server.Repository.Index()).Reason);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/v2/models/fraud/ready")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/v2/health/ready")).StatusCode);

        var again = await PostAsync(http, "/v2/models/fraud/infer", FeaturesBody);
        Assert.Equal(HttpStatusCode.OK, again.Status);
        Assert.Equal(first.Body.GetProperty("outputs").GetRawText(), again.Body.GetProperty("outputs").GetRawText());

        var metrics = await http.GetStringAsync("/metrics");
        Assert.Contains("pronto_model_loads_total{model=\"fraud\",version=\"1\"} 2\n", metrics, StringComparison.Ordinal);
        Assert.Contains("pronto_model_unloads_total{model=\"fraud\",version=\"1\",reason=\"idle\"} 1\n", metrics, StringComparison.Ordinal);
        Assert.Contains("pronto_model_cold_start_seconds_count{model=\"fraud\"} 1\n", metrics, StringComparison.Ordinal);
        Assert.Contains("pronto_model_cold_start_phase_seconds_count{model=\"fraud\",phase=\"session\"} 1\n", metrics, StringComparison.Ordinal);
        Assert.Contains("pronto_model_cold_start_phase_seconds_count{model=\"fraud\",phase=\"warmup\"} 1\n", metrics, StringComparison.Ordinal);
        var sums = metrics.Split('\n').Where(l => l.StartsWith("pronto_model_cold_start", StringComparison.Ordinal) && l.Contains("_sum{", StringComparison.Ordinal))
            .ToDictionary(l => l[..l.LastIndexOf(' ')], l => double.Parse(l[(l.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture));
        var session = sums["pronto_model_cold_start_phase_seconds_sum{model=\"fraud\",phase=\"session\"}"];
        var warmup = sums["pronto_model_cold_start_phase_seconds_sum{model=\"fraud\",phase=\"warmup\"}"];
        // Timed on the wall clock (this test's clock is fake, and the whole load's time with it): both phases took time.
        Assert.True(session > 0 && warmup > 0, $"session {session} s, warm-up {warmup} s");

        // Counted at the source: the Triton counters hold both loads' requests.
        Assert.Contains("nv_inference_request_success{model=\"fraud\",version=\"1\"} 2\n", metrics, StringComparison.Ordinal);
    }
}
