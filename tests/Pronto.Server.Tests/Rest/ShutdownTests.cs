using System.Net;
using System.Net.Sockets;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Pronto.Server.Tests.Grpc;
using Pronto.Server.Tests.GrpcClient;
using Pronto.Testing;
using static Pronto.Server.Tests.Rest.Rest;

namespace Pronto.Server.Tests.Rest;

/// <summary>
/// The host's stop with requests in flight (what SIGTERM triggers): readiness turns false and new requests get 503 at
/// once, over REST and gRPC, while the in-flight ones run to 200; then the listeners close. Deterministic without
/// sleeps: each request is sent with <c>Expect: 100-continue</c>, so the client learns that the server's handler is
/// running (it asked for the body) before sending the body, which it holds back until the test releases it. Only then
/// do the bodies go, and the real ResNet18 inference runs during the drain, on engine instances still loaded.
/// </summary>
public sealed class ShutdownTests
{
    private const int Requests = 4;
    private const int ImagesPerRequest = 8;

    // The held requests all reach the model at once and queue behind each other's runs, which on a loaded machine may take
    // longer than the default queue-wait budget: this test is about the drain, not overload shedding (QueueBudgetTests).
    private static void NoQueueBudget(ProntoServerOptions options) => options.QueueWaitBudgetMs = 0;

    [Fact]
    public async Task Stop_answers_503_and_not_ready_while_in_flight_requests_finish_then_refuses_connections()
    {
        var own = await OwnServer.StartOverZooAsync(NoQueueBudget);
        await using var _ = own;
        var server = own.Server;
        var endpoint = new IPEndPoint(IPAddress.Parse(server.HttpUri.Host), server.HttpUri.Port);
        using var held = new HeldRequests(server, Requests);
        try
        {
            // Every handler is running: the server sent 100 Continue to each.
            await held.Started;

            var shutdown = server.WaitForShutdownAsync();
            server.Services.GetRequiredService<IHostApplicationLifetime>().StopApplication();

            // Still listening, no longer ready; probes answer, everything else is 503 with Retry-After.
            using (var late = new HttpClient { BaseAddress = server.HttpUri })
            {
                Assert.Equal(HttpStatusCode.ServiceUnavailable, (await late.GetAsync("/v2/health/ready")).StatusCode);
                Assert.Equal(HttpStatusCode.OK, (await late.GetAsync("/v2/health/live")).StatusCode);
                using var refused = await late.PostAsync("/v2/models/fraud/infer", Json(FeaturesBody));
                Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
                Assert.Equal("1", refused.Headers.GetValues("Retry-After").Single());
                Assert.Equal("the server is shutting down", Error(await ReadJsonAsync(refused)));
            }

            using (var grpc = new GrpcConnection(server))
            {
                Assert.False((await grpc.Client.ServerReadyAsync(new ServerReadyRequest())).Ready);
                Assert.True((await grpc.Client.ServerLiveAsync(new ServerLiveRequest())).Live);
                var request = new ModelInferRequest { ModelName = "fraud" };
                request.Inputs.Add(GrpcTensors.Input("features", "FP32", 1, 6));
                request.RawInputContents.Add(GrpcTensors.Raw(new[] { 912.5f, 40, 7, 3, 850, 5 }));
                var error = await Assert.ThrowsAsync<RpcException>(async () => await grpc.Client.ModelInferAsync(request));
                Assert.Equal((StatusCode.Unavailable, "the server is shutting down"), (error.StatusCode, error.Status.Detail));
            }

            Assert.False(shutdown.IsCompleted);
            held.Release();
            var results = await held.Results;
            await shutdown;

            Assert.All(results, r =>
            {
                Assert.True(r.Status == HttpStatusCode.OK, r.Body);
                Assert.Contains($"\"shape\":[{ImagesPerRequest},512]", r.Body, StringComparison.Ordinal);
            });

            // After stop a new connection is refused.
            using var after = new HttpClient { BaseAddress = server.HttpUri };
            await Assert.ThrowsAsync<HttpRequestException>(() => after.GetAsync("/v2/health/live"));
            Assert.False(await Connects(endpoint));
        }
        finally
        {
            held.Release();
        }
    }

    /// <summary>Pronto:ShutdownTimeout bounds the drain: a request that never finishes does not hold the stop.</summary>
    [Fact]
    public async Task Stop_gives_up_on_in_flight_requests_after_the_shutdown_timeout()
    {
        var own = await OwnServer.StartOverZooAsync(options => options.ShutdownTimeout = TimeSpan.Zero);
        await using var _ = own;
        using var held = new HeldRequests(own.Server, 1);
        try
        {
            await held.Started;
            await own.Server.StopAsync();

            // Its connection was closed under it: the client sees the failure, the server has stopped.
            await Assert.ThrowsAnyAsync<Exception>(() => held.Results);
        }
        finally
        {
            held.Release();
        }
    }

    /// <summary><paramref name="count"/> resnet18 requests, each on its own connection, whose bodies wait for <see cref="Release"/>.</summary>
    private sealed class HeldRequests : IDisposable
    {
        private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly List<HttpMessageHandler> _handlers = [];

        public HeldRequests(ProntoServer server, int count)
        {
            var png = TestImages.Landscape(320, 240);
            var tensor = BytesTensor([.. Enumerable.Repeat(png, ImagesPerRequest)]);
            var json = $$$"""{"inputs":[{"name":"image","shape":[{{{ImagesPerRequest}}}],"datatype":"BYTES","parameters":{"binary_data_size":{{{tensor.Length}}}}}]}""";
            var calls = new List<Task<(HttpStatusCode Status, string Body)>>();
            var started = new List<Task>();
            for (var i = 0; i < count; i++)
            {
                // One connection per request, and never a timeout that would send the body before the server asks.
                var handler = new SocketsHttpHandler { Expect100ContinueTimeout = Timeout.InfiniteTimeSpan, PooledConnectionLifetime = Timeout.InfiniteTimeSpan };
                _handlers.Add(handler);
                var client = new HttpClient(handler) { BaseAddress = server.HttpUri, Timeout = Timeout.InfiniteTimeSpan };
                var header = System.Text.Encoding.UTF8.GetBytes(json);
                var content = new GatedContent([.. header, .. tensor], _release.Task);
                started.Add(content.Started);
                var request = new HttpRequestMessage(HttpMethod.Post, "/v2/models/resnet18/infer") { Content = content };
                content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/octet-stream");
                request.Headers.TryAddWithoutValidation(HeaderLength, header.Length.ToString(System.Globalization.CultureInfo.InvariantCulture));
                request.Headers.ExpectContinue = true;
                calls.Add(SendAsync(client, request));
            }

            Started = Task.WhenAll(started);
            Results = Task.WhenAll(calls);
        }

        public Task Started { get; }

        public Task<(HttpStatusCode Status, string Body)[]> Results { get; }

        public void Release() => _release.TrySetResult();

        public void Dispose()
        {
            Release();
            foreach (var handler in _handlers)
            {
                handler.Dispose();
            }
        }
    }

    private static async Task<(HttpStatusCode, string)> SendAsync(HttpClient client, HttpRequestMessage request)
    {
        using (request)
        using (var response = await client.SendAsync(request))
        {
            return (response.StatusCode, await response.Content.ReadAsStringAsync());
        }
    }

    private static async Task<bool> Connects(IPEndPoint endpoint)
    {
        using var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            await socket.ConnectAsync(endpoint);
            return true;
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionRefused)
        {
            return false;
        }
    }

    /// <summary>A body HttpClient writes only after 100 Continue (then <see cref="Started"/> completes) and once released.</summary>
    private sealed class GatedContent(byte[] body, Task release) : HttpContent
    {
        private readonly TaskCompletionSource _started = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task Started => _started.Task;

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            _started.TrySetResult();
            await release;
            await stream.WriteAsync(body);
        }

        protected override bool TryComputeLength(out long length)
        {
            length = body.Length;
            return true;
        }
    }
}
