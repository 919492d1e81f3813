using System.Net;
using static Pronto.Server.Tests.Rest.Rest;

namespace Pronto.Server.Tests.Rest;

/// <summary>/metrics in Prometheus text with Triton's names, counted on a fresh server.</summary>
public sealed class MetricsTests
{
    [Fact]
    public async Task Counters_and_the_latency_histogram_count_exactly_what_was_sent()
    {
        await using var own = await OwnServer.StartAsync(["fraud"]);
        const int n = 3;
        for (var i = 0; i < n; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await PostAsync(own.Http, "/v2/models/fraud/infer", FeaturesBody)).Status);
        }

        // One batch of 2: one more request and execution, two more inferences.
        var batch = """{"inputs":[{"name":"features","shape":[2,6],"datatype":"FP32","data":[1,2,3,4,5,6,7,8,9,10,11,12]}]}""";
        Assert.Equal(HttpStatusCode.OK, (await PostAsync(own.Http, "/v2/models/fraud/infer", batch)).Status);

        // A request the model refuses (wrong shape) is a failure with reason OTHER.
        Assert.Equal(HttpStatusCode.BadRequest, (await PostAsync(own.Http, "/v2/models/fraud/infer", """{"inputs":[{"name":"features","shape":[1,5],"datatype":"FP32","data":[1,2,3,4,5]}]}""")).Status);

        using var response = await own.Http.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        var text = await response.Content.ReadAsStringAsync();

        Assert.Equal(n + 1, Value(text, "nv_inference_request_success", """model="fraud",version="1" """));
        Assert.Equal(n + 2, Value(text, "nv_inference_count", """model="fraud",version="1" """));
        Assert.Equal(n + 1, Value(text, "nv_inference_exec_count", """model="fraud",version="1" """));
        Assert.Equal(1, Value(text, "nv_inference_request_failure", """model="fraud",version="1",reason="OTHER" """));
        Assert.Equal(0, Value(text, "nv_inference_request_failure", """model="fraud",version="1",reason="BACKEND" """));
        Assert.Equal(0, Value(text, "nv_inference_request_failure", """model="fraud",version="1",reason="REJECTED" """));
        Assert.Equal(0, Value(text, "nv_inference_request_failure", """model="fraud",version="1",reason="CANCELED" """));
        Assert.Equal(0, Value(text, "nv_inference_pending_request_count", """model="fraud",version="1" """));
        Assert.Equal(n + 1, Value(text, "pronto_request_duration_seconds_count", """model="fraud",protocol="http" """));
        Assert.True(Value(text, "nv_inference_request_duration_us", """model="fraud",version="1" """) > 0);
        Assert.True(Value(text, "nv_inference_compute_infer_duration_us", """model="fraud",version="1" """) > 0);
        Assert.Equal(n + 1, Value(text, "pronto_request_duration_seconds_bucket", """model="fraud",protocol="http",le="+Inf" """));
    }

    [Fact]
    public async Task Counters_keep_counting_across_an_unload_and_a_reload()
    {
        await using var own = await OwnServer.StartAsync(["fraud"], options =>
        {
            options.EnableRepositoryApi = true;
            options.AdminKeys.Add("admin");
        });
        own.Http.DefaultRequestHeaders.Authorization = new("Bearer", "admin");
        const int before = 3;
        const int after = 2;
        for (var i = 0; i < before; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await PostAsync(own.Http, "/v2/models/fraud/infer", FeaturesBody)).Status);
        }

        // A scrape before the reload: the exporter has seen 3.
        Assert.Equal(before, Value(await own.Http.GetStringAsync("/metrics"), "nv_inference_request_success", """model="fraud",version="1" """));

        Assert.Equal(HttpStatusCode.OK, (await PostAsync(own.Http, "/v2/repository/models/fraud/unload", "{}")).Status);
        Assert.Equal(HttpStatusCode.OK, (await PostAsync(own.Http, "/v2/repository/models/fraud/load", "{}")).Status);
        for (var i = 0; i < after; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await PostAsync(own.Http, "/v2/models/fraud/infer", FeaturesBody)).Status);
        }

        Assert.Equal(HttpStatusCode.BadRequest, (await PostAsync(own.Http, "/v2/models/fraud/infer", """{"inputs":[{"name":"features","shape":[1,5],"datatype":"FP32","data":[1,2,3,4,5]}]}""")).Status);

        var text = await own.Http.GetStringAsync("/metrics");
        Assert.Equal(before + after, Value(text, "nv_inference_request_success", """model="fraud",version="1" """));
        Assert.Equal(before + after, Value(text, "nv_inference_count", """model="fraud",version="1" """));
        Assert.Equal(before + after, Value(text, "nv_inference_exec_count", """model="fraud",version="1" """));
        Assert.Equal(1, Value(text, "nv_inference_request_failure", """model="fraud",version="1",reason="OTHER" """));

        // The statistics extension describes the load now serving (Triton's statistics restart with a load).
        var (status, stats) = await GetAsync(own.Http, "/v2/models/fraud/stats");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(after, stats.GetProperty("model_stats")[0].GetProperty("inference_stats").GetProperty("success").GetProperty("count").GetInt64());
    }

    [Fact]
    public async Task A_fresh_server_shows_zero_counts_for_its_models()
    {
        await using var own = await OwnServer.StartAsync(["fraud"]);
        var text = await own.Http.GetStringAsync("/metrics");
        Assert.Equal(0, Value(text, "nv_inference_request_success", """model="fraud",version="1" """));
        Assert.Equal(0, Value(text, "nv_inference_count", """model="fraud",version="1" """));
        Assert.DoesNotContain("pronto_request_duration_seconds_count{", text, StringComparison.Ordinal);
    }

    /// <summary>The value of the one sample <c>name{labels} value</c> (labels in the order the exporter writes them).</summary>
    private static double Value(string text, string name, string labels)
    {
        var line = text.Split('\n').Where(l => l.StartsWith($"{name}{{{labels.Trim()}}} ", StringComparison.Ordinal)).ToList();
        Assert.True(line.Count == 1, $"expected one sample {name}{{{labels.Trim()}}} in:\n{string.Join('\n', text.Split('\n').Where(l => l.StartsWith(name, StringComparison.Ordinal)))}");
        return double.Parse(line[0][(line[0].LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture);
    }
}
