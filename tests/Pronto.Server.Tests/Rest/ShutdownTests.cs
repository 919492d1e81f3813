using System.Net;
using System.Net.Sockets;
using Pronto.Testing;
using static Pronto.Server.Tests.Rest.Rest;

namespace Pronto.Server.Tests.Rest;

/// <summary>
/// StopAsync with requests in flight: each started request completes with 200; afterwards nothing connects.
/// Deterministic without sleeps: each request is sent with <c>Expect: 100-continue</c>, so the client learns that the
/// server's handler is running (it asked for the body) before sending the body, which it holds back until the server
/// has stopped listening. Only then do the bodies go, and the real ResNet18 inference runs during shutdown.
/// </summary>
public sealed class ShutdownTests
{
    private const int Requests = 4;
    private const int ImagesPerRequest = 8;

    [Fact]
    public async Task Stop_lets_in_flight_requests_finish_then_refuses_connections()
    {
        var own = await OwnServer.StartOverZooAsync();
        await using var _ = own;
        var server = own.Server;
        var endpoint = new IPEndPoint(IPAddress.Parse(server.HttpUri.Host), server.HttpUri.Port);

        var png = TestImages.Landscape(320, 240);
        var tensor = BytesTensor([.. Enumerable.Repeat(png, ImagesPerRequest)]);
        var json = $$$"""{"inputs":[{"name":"image","shape":[{{{ImagesPerRequest}}}],"datatype":"BYTES","parameters":{"binary_data_size":{{{tensor.Length}}}}}]}""";

        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var handlers = new List<HttpMessageHandler>();
        var calls = new List<Task<(HttpStatusCode Status, string Body)>>();
        var started = new List<Task>();
        try
        {
            for (var i = 0; i < Requests; i++)
            {
                // One connection per request, and never a timeout that would send the body before the server asks.
                var handler = new SocketsHttpHandler { Expect100ContinueTimeout = Timeout.InfiniteTimeSpan, PooledConnectionLifetime = Timeout.InfiniteTimeSpan };
                handlers.Add(handler);
                var client = new HttpClient(handler) { BaseAddress = server.HttpUri, Timeout = Timeout.InfiniteTimeSpan };
                using var header = Binary("/v2/models/resnet18/infer", json, tensor);
                var content = new GatedContent(await header.Content!.ReadAsByteArrayAsync(), release.Task);
                started.Add(content.Started);
                var request = new HttpRequestMessage(HttpMethod.Post, "/v2/models/resnet18/infer") { Content = content };
                content.Headers.ContentType = header.Content.Headers.ContentType;
                request.Headers.TryAddWithoutValidation(HeaderLength, header.Headers.GetValues(HeaderLength));
                request.Headers.ExpectContinue = true;
                calls.Add(SendAsync(client, request));
            }

            // Every handler is running: the server sent 100 Continue to each.
            await Task.WhenAll(started);

            var stop = server.StopAsync();

            // Stopping: the listener goes first. Until it is gone a probe connects (and is closed again).
            while (await Connects(endpoint))
            {
                await Task.Yield();
            }

            Assert.False(stop.IsCompleted);
            release.SetResult();
            var results = await Task.WhenAll(calls);
            await stop;

            Assert.All(results, r =>
            {
                Assert.True(r.Status == HttpStatusCode.OK, r.Body);
                Assert.Contains($"\"shape\":[{ImagesPerRequest},512]", r.Body, StringComparison.Ordinal);
            });

            // After stop a new connection is refused.
            using var late = new HttpClient { BaseAddress = server.HttpUri };
            await Assert.ThrowsAsync<HttpRequestException>(() => late.GetAsync("/v2/health/live"));
            Assert.False(await Connects(endpoint));
        }
        finally
        {
            release.TrySetResult();
            foreach (var handler in handlers)
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
