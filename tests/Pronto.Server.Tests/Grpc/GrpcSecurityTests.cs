using System.Net;
using System.Text.Json;
using Grpc.Core;
using Pronto.Models;
using Pronto.Server.Tests.GrpcClient;

namespace Pronto.Server.Tests.Grpc;

/// <summary>The REST security rules, over gRPC: API keys for inference and metadata, the repository API off by default and behind admin keys.</summary>
[Collection(ServerCollection.Name)]
public sealed class GrpcSecurityTests(ServerFixture fixture)
{
    [Fact]
    public async Task Repository_rpcs_are_permission_denied_by_default_with_the_rest_message()
    {
        using var grpc = new GrpcConnection(fixture.Server);

        var error = await Assert.ThrowsAsync<RpcException>(async () => await grpc.Client.RepositoryIndexAsync(new RepositoryIndexRequest()));
        var unload = await Assert.ThrowsAsync<RpcException>(async () => await grpc.Client.RepositoryModelUnloadAsync(new RepositoryModelUnloadRequest { ModelName = "fraud" }));

        Assert.Equal(StatusCode.PermissionDenied, error.StatusCode);
        Assert.Equal(StatusCode.PermissionDenied, unload.StatusCode);
        using var rest = await fixture.Http.PostAsync("/v2/repository/index", null);
        Assert.Equal(HttpStatusCode.Forbidden, rest.StatusCode);
        using var body = JsonDocument.Parse(await rest.Content.ReadAsStringAsync());
        Assert.Equal(body.RootElement.GetProperty("error").GetString(), error.Status.Detail);
        Assert.True((await grpc.Client.ModelReadyAsync(new ModelReadyRequest { Name = "fraud" })).Ready);
    }

    [Fact]
    public async Task With_api_keys_inference_needs_a_key_and_health_stays_open()
    {
        var server = await ServerFixture.StartAsync(options =>
        {
            options.ModelRepository = ZooPaths.DefaultRepository();
            options.ApiKeys.Add("k1");
        });
        try
        {
            using var grpc = new GrpcConnection(server);
            var request = new ModelInferRequest { ModelName = "fraud" };
            var input = new ModelInferRequest.Types.InferInputTensor { Name = "features", Datatype = "FP32", Shape = { 1, 6 } };
            input.Contents = new InferTensorContents { Fp32Contents = { 42.5f, 50, 0, 18, 3, 1 } };
            request.Inputs.Add(input);

            Assert.True((await grpc.Client.ServerLiveAsync(new ServerLiveRequest())).Live);
            Assert.True((await grpc.Client.ServerReadyAsync(new ServerReadyRequest())).Ready);
            var missing = await Assert.ThrowsAsync<RpcException>(async () => await grpc.Client.ModelInferAsync(request));
            Assert.Equal(StatusCode.Unauthenticated, missing.StatusCode);
            Assert.Equal("missing or invalid credentials: send 'Authorization: Bearer <key>' with an API key", missing.Status.Detail);
            var wrong = await Assert.ThrowsAsync<RpcException>(async () => await grpc.Client.ModelInferAsync(request, GrpcConnection.Bearer("k2")));
            Assert.Equal(StatusCode.Unauthenticated, wrong.StatusCode);
            var metadata = await Assert.ThrowsAsync<RpcException>(async () => await grpc.Client.ModelMetadataAsync(new ModelMetadataRequest { Name = "fraud" }));
            Assert.Equal(StatusCode.Unauthenticated, metadata.StatusCode);

            // REST and gRPC share one key check and one message.
            using var http = new HttpClient { BaseAddress = server.HttpUri };
            using var rest = await http.GetAsync("/v2/models/fraud");
            Assert.Equal(HttpStatusCode.Unauthorized, rest.StatusCode);
            using var body = JsonDocument.Parse(await rest.Content.ReadAsStringAsync());
            Assert.Equal(missing.Status.Detail, body.RootElement.GetProperty("error").GetString());

            var response = await grpc.Client.ModelInferAsync(request, GrpcConnection.Bearer("k1"));
            Assert.Equal([1L, 2L], Assert.Single(response.Outputs).Shape);
            Assert.Equal("fraud", (await grpc.Client.ModelMetadataAsync(new ModelMetadataRequest { Name = "fraud" }, GrpcConnection.Bearer("k1"))).Name);
        }
        finally
        {
            await server.StopAsync();
            await server.DisposeAsync();
        }
    }

    [Fact]
    public async Task With_the_repository_api_enabled_an_admin_indexes_unloads_and_loads()
    {
        var server = await ServerFixture.StartAsync(options =>
        {
            options.ModelRepository = ZooPaths.DefaultRepository();
            options.EnableRepositoryApi = true;
            options.AdminKeys.Add("admin");
        });
        try
        {
            using var grpc = new GrpcConnection(server);
            var admin = GrpcConnection.Bearer("admin");

            var anonymous = await Assert.ThrowsAsync<RpcException>(async () => await grpc.Client.RepositoryIndexAsync(new RepositoryIndexRequest()));
            Assert.Equal(StatusCode.Unauthenticated, anonymous.StatusCode);
            Assert.Equal("missing or invalid credentials: send 'Authorization: Bearer <key>' with an admin key", anonymous.Status.Detail);

            var index = await grpc.Client.RepositoryIndexAsync(new RepositoryIndexRequest(), admin);
            Assert.Equal(
                [("fraud", "1", "READY"), ("minilm", "1", "READY"), ("resnet18", "1", "READY")],
                index.Models.Select(m => (m.Name, m.Version, m.State)));

            await grpc.Client.RepositoryModelUnloadAsync(new RepositoryModelUnloadRequest { ModelName = "fraud" }, admin);
            Assert.False((await grpc.Client.ModelReadyAsync(new ModelReadyRequest { Name = "fraud" })).Ready);
            var ready = await grpc.Client.RepositoryIndexAsync(new RepositoryIndexRequest { Ready = true }, admin);
            Assert.Equal(["minilm", "resnet18"], ready.Models.Select(m => m.Name));

            await grpc.Client.RepositoryModelLoadAsync(new RepositoryModelLoadRequest { ModelName = "fraud" }, admin);
            Assert.True((await grpc.Client.ModelReadyAsync(new ModelReadyRequest { Name = "fraud" })).Ready);

            var escape = await Assert.ThrowsAsync<RpcException>(async () =>
                await grpc.Client.RepositoryModelLoadAsync(new RepositoryModelLoadRequest { ModelName = "../etc" }, admin));
            Assert.Equal(StatusCode.InvalidArgument, escape.StatusCode);
            var unknown = await Assert.ThrowsAsync<RpcException>(async () =>
                await grpc.Client.RepositoryModelLoadAsync(new RepositoryModelLoadRequest { ModelName = "absent" }, admin));
            Assert.Equal(StatusCode.NotFound, unknown.StatusCode);
        }
        finally
        {
            await server.StopAsync();
            await server.DisposeAsync();
        }
    }
}
