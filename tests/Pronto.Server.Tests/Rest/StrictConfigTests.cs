using System.Net;
using Grpc.Core;
using Pronto.Server.Tests.Grpc;
using Pronto.Server.Tests.GrpcClient;
using Pronto.Testing;
using static Pronto.Server.Tests.Rest.Rest;

namespace Pronto.Server.Tests.Rest;

/// <summary>A model whose config.pbtxt has a field Triton's schema lacks is UNAVAILABLE over REST and gRPC, with the reason; the others serve.</summary>
public sealed class StrictConfigTests : IAsyncLifetime
{
    private readonly string _root = Directory.CreateTempSubdirectory("pronto-rest-strict-").FullName;
    private ProntoServer _server = null!;
    private HttpClient _http = null!;

    private string Reason => $"model 'typo' has no ready version: {Path.Combine(_root, "typo", "config.pbtxt")} line 2, column 1: unknown field 'dynamic_batchng' in ModelConfig (did you mean 'dynamic_batching'?)";

    public async Task InitializeAsync()
    {
        TinyModels.WriteAddConstant(_root, "good", 1f, 2);
        File.WriteAllText(Path.Combine(_root, "good", "config.pbtxt"), "max_batch_size: 8\noptimization { graph { level: 1 } }\n");
        TinyModels.WriteAddConstant(_root, "typo", 1f, 2);
        File.WriteAllText(Path.Combine(_root, "typo", "config.pbtxt"), "max_batch_size: 8\ndynamic_batchng { }\n");
        _server = await ServerFixture.StartAsync(options => options.ModelRepository = _root);
        _http = new HttpClient { BaseAddress = _server.HttpUri };
    }

    [Fact]
    public async Task Rest_answers_503_with_the_file_line_and_field_and_serves_the_other_model()
    {
        using (var ready = await _http.GetAsync("/v2/models/typo/ready"))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        }

        var (status, body) = await GetAsync(_http, "/v2/models/typo");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Equal(Reason, body.GetProperty("error").GetString());

        (status, _) = await GetAsync(_http, "/v2/models/good");
        Assert.Equal(HttpStatusCode.OK, status);
    }

    [Fact]
    public async Task Grpc_answers_unavailable_with_the_same_reason()
    {
        using var grpc = new GrpcConnection(_server);
        Assert.False((await grpc.Client.ModelReadyAsync(new ModelReadyRequest { Name = "typo" })).Ready);
        var error = await Assert.ThrowsAsync<RpcException>(async () => await grpc.Client.ModelMetadataAsync(new ModelMetadataRequest { Name = "typo" }));
        Assert.Equal(StatusCode.Unavailable, error.StatusCode);
        Assert.Equal(Reason, error.Status.Detail);
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _server.StopAsync();
        await _server.DisposeAsync();
        Directory.Delete(_root, recursive: true);
    }
}
