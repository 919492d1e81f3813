using System.Net;
using System.Net.Sockets;
using System.Text;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Pronto.Server.Tests.Grpc;
using Pronto.Server.Tests.GrpcClient;
using Pronto.Testing;
using SkiaSharp;
using static Pronto.Server.Tests.Rest.Rest;

namespace Pronto.Server.Tests;

/// <summary>
/// Input that once reached a 500 or UNKNOWN (issue 16, item 4): each is a 400 / INVALID_ARGUMENT with a message naming
/// the problem, and the same server answers a good request right after, over REST and gRPC.
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class HostileInputTests(ServerFixture fixture) : IDisposable
{
    private static readonly byte[] Png = TestImages.Landscape(64, 48);
    private static readonly byte[] Jpeg = TestImages.Landscape(64, 48, SKEncodedImageFormat.Jpeg);

    private readonly GrpcConnection _grpc = new(fixture.Server);

    /// <summary>(image bytes, the message of the 400).</summary>
    public static TheoryData<byte[], string> BadImages => new()
    {
        { [], "input 'image' element 0: empty image (0 bytes); expected encoded image (PNG, JPEG, WebP, GIF, BMP)" },
        // issue 16 item 2: a small file declaring 12000x12000 pixels is refused from its header, before any decode
        { Declaring(Png, 12000, 12000), "input 'image' element 0 is 12000x12000 (144000000 pixels); this model decodes at most 50000000 pixels per image (pronto.image.max_pixels): send a smaller image" },
        { Png[..(Png.Length / 2)], $"input 'image' element 0 ({Png.Length / 2} bytes) is a truncated PNG image" },
        { Jpeg[..(Jpeg.Length / 2)], $"input 'image' element 0 ({Jpeg.Length / 2} bytes) is a truncated JPEG image" },
        { Encoding.UTF8.GetBytes("not a picture"), "input 'image' element 0 (13 bytes) is not a decodable image; expected encoded image (PNG, JPEG, WebP, GIF, BMP)" },
    };

    [Theory]
    [MemberData(nameof(BadImages))]
    public async Task A_bad_image_is_400_over_rest(byte[] image, string message)
    {
        var element = BytesTensor(image);
        var json = $$$"""{"inputs":[{"name":"image","shape":[1],"datatype":"BYTES","parameters":{"binary_data_size":{{{element.Length}}}}}]}""";
        using var request = Binary("/v2/models/resnet18/infer", json, element);
        using var response = await fixture.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(message, Error(await ReadJsonAsync(response)));
        await AssertImagesStillServeAsync();
    }

    [Theory]
    [MemberData(nameof(BadImages))]
    public async Task A_bad_image_is_invalid_argument_over_grpc(byte[] image, string message)
    {
        var error = await Assert.ThrowsAsync<RpcException>(async () => await _grpc.Client.ModelInferAsync(ImageRequest(image)));
        Assert.Equal((StatusCode.InvalidArgument, message), (error.StatusCode, error.Status.Detail));
        await AssertImagesStillServeAsync();
    }

    /// <summary>A chunk size past 64 bits: Kestrel's parser overflows (an IOException, once a 500).</summary>
    [Fact]
    public async Task An_overflowing_chunk_size_is_400()
    {
        var uri = fixture.Server.HttpUri;
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(uri.Host, uri.Port);
        await using var stream = new NetworkStream(socket, ownsSocket: false);
        var head = $"POST /v2/models/fraud/infer HTTP/1.1\r\nHost: {uri.Authority}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFF\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head));

        // Kestrel closes the connection after the response (the body cannot be read past the bad chunk): read to the end.
        using var reader = new StreamReader(stream, Encoding.ASCII);
        var response = await reader.ReadToEndAsync();
        Assert.StartsWith("HTTP/1.1 400 Bad Request\r\n", response, StringComparison.Ordinal);
        Assert.EndsWith("""{"error":"the request body could not be read: Bad chunk size data."}""", response, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await PostAsync(fixture.Http, "/v2/models/fraud/infer", FeaturesBody)).Status);
    }

    /// <summary>(request message bytes, the protobuf parser's words for what is wrong).</summary>
    public static TheoryData<byte[], string> MalformedMessages
    {
        get
        {
            var whole = FraudRequest().ToByteArray();
            return new()
            {
                // model_name (field 1) says 5 bytes, 1 follows
                { [0x0A, 0x05, 0x61], "While parsing a protocol message, the input ended unexpectedly in the middle of a field.  This could mean either that the input has been truncated or that an embedded message misreported its own length." },
                // a real request cut short inside its raw contents
                { whole[..(whole.Length - 10)], "While parsing a protocol message, the input ended unexpectedly in the middle of a field.  This could mean either that the input has been truncated or that an embedded message misreported its own length." },
                // a tag varint that never ends
                { [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01], "CodedInputStream encountered a malformed varint." },
                // model_name is not UTF-8
                { [0x0A, 0x02, 0xC3, 0x28], "String is invalid UTF-8." },
                // field number 0
                { [0x00], "Protocol message contained an invalid tag (zero)." },
            };
        }
    }

    [Theory]
    [MemberData(nameof(MalformedMessages))]
    public async Task A_malformed_protobuf_message_is_invalid_argument(byte[] message, string problem)
    {
        using var channel = GrpcChannel.ForAddress(fixture.Server.GrpcUri);
        var bytes = Marshallers.Create<byte[]>(b => b, b => b);
        var method = new Method<byte[], byte[]>(MethodType.Unary, "inference.GRPCInferenceService", "ModelInfer", bytes, bytes);
        var error = await Assert.ThrowsAsync<RpcException>(async () => await channel.CreateCallInvoker().AsyncUnaryCall(method, null, default, message));
        Assert.Equal((StatusCode.InvalidArgument, $"the ModelInfer request is not a valid protobuf message: {problem}"), (error.StatusCode, error.Status.Detail));

        var response = await _grpc.Client.ModelInferAsync(FraudRequest());
        Assert.Equal([1L, 2L], Assert.Single(response.Outputs).Shape);
    }

    /// <summary>A gRPC frame whose 5-byte prefix declares more bytes than follow (once INTERNAL "Incomplete message.").</summary>
    [Theory]
    [InlineData(new byte[] { 0, 0, 0, 0, 100, 0x0A, 0x05 })]
    [InlineData(new byte[] { 0, 0, 0, 0 })]
    public async Task A_short_grpc_frame_is_invalid_argument(byte[] frame)
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(fixture.Server.GrpcUri, "/inference.GRPCInferenceService/ModelInfer"))
        {
            Content = new ByteArrayContent(frame),
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/grpc");
        request.Headers.TryAddWithoutValidation("TE", "trailers");
        using var response = await http.SendAsync(request);
        await response.Content.ReadAsByteArrayAsync();
        var headers = response.Headers.Concat(response.TrailingHeaders).ToDictionary(h => h.Key, h => string.Join(",", h.Value), StringComparer.OrdinalIgnoreCase);
        Assert.True(headers.ContainsKey("grpc-status"), string.Join("; ", headers.Select(h => h.Key + "=" + h.Value)));
        Assert.Equal(("3", "the request message is truncated: its gRPC frame declares more bytes than the request carries"), (headers["grpc-status"], Uri.UnescapeDataString(headers["grpc-message"])));

        var good = await _grpc.Client.ModelInferAsync(FraudRequest());
        Assert.Equal([1L, 2L], Assert.Single(good.Outputs).Shape);
    }

    /// <summary>The PNG with its header (IHDR) rewritten to declare <paramref name="width"/> x <paramref name="height"/>, its CRC fixed.</summary>
    private static byte[] Declaring(byte[] png, int width, int height)
    {
        var patched = (byte[])png.Clone();
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(patched.AsSpan(16), width);
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(patched.AsSpan(20), height);
        var crc = 0xFFFFFFFFu;
        foreach (var b in patched.AsSpan(12, 17))
        {
            crc ^= b;
            for (var k = 0; k < 8; k++)
            {
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
            }
        }

        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(patched.AsSpan(29), ~crc);
        return patched;
    }

    private static ModelInferRequest FraudRequest()
    {
        var request = new ModelInferRequest { ModelName = "fraud" };
        request.Inputs.Add(GrpcTensors.Input("features", "FP32", 1, 6));
        request.RawInputContents.Add(GrpcTensors.Raw(new[] { 912.5f, 40, 7, 3, 850, 5 }));
        return request;
    }

    private static ModelInferRequest ImageRequest(byte[] image)
    {
        var request = new ModelInferRequest { ModelName = "resnet18" };
        request.Inputs.Add(GrpcTensors.Input("image", "BYTES", 1));
        request.RawInputContents.Add(GrpcTensors.RawStrings(image));
        return request;
    }

    private async Task AssertImagesStillServeAsync()
    {
        var response = await _grpc.Client.ModelInferAsync(ImageRequest(Png));
        Assert.Equal([1L, 512L], Assert.Single(response.Outputs).Shape);

        var element = BytesTensor(Png);
        var json = $$$"""{"inputs":[{"name":"image","shape":[1],"datatype":"BYTES","parameters":{"binary_data_size":{{{element.Length}}}}}]}""";
        using var request = Binary("/v2/models/resnet18/infer", json, element);
        using var rest = await fixture.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, rest.StatusCode);
        Assert.Equal(new long[] { 1, 512 }, Shape((await ReadJsonAsync(rest)).GetProperty("outputs")[0]));
    }

    public void Dispose() => _grpc.Dispose();
}
