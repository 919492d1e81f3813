using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Pronto.Server.Tests.Fuzzing;
using Pronto.Server.Tests.Grpc;
using static Pronto.Server.Tests.Rest.Rest;

namespace Pronto.Server.Tests;

/// <summary>
/// Seeded mutation fuzzing of valid request bodies (bit flips, truncation, duplication, byte overwrites), a bounded
/// and deterministic count per surface: whatever a mutation makes of a body, the answer is a 200 or a 4xx with a
/// message (never a 5xx), gRPC never INTERNAL or UNKNOWN, and the server still serves afterwards.
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class HostileFuzzTests(ServerFixture fixture) : IDisposable
{
    private const int Count = 150;

    private readonly GrpcConnection _grpc = new(fixture.Server);

    public static TheoryData<string, string, string?> RestBodies => new()
    {
        { "/v2/models/fraud/infer", FeaturesBody, null },
        { "/v2/models/fraud/infer", """{"inputs":[{"name":"fields","shape":[1],"datatype":"BYTES","data":["{\"amount\": 912.5, \"customer_avg_amount\": 40, \"merchant_category\": 7, \"hour\": 3, \"distance_km\": 850, \"txn_last_hour\": 5}"]}]}""", null },
        { "/v2/models/fraud/infer", """{"inputs":[{"name":"features","shape":[1,6],"datatype":"FP32","parameters":{"binary_data_size":24}}]}""", "binary" },
        { "/v1/embeddings", """{"model":"minilm","input":["hello","world"],"encoding_format":"float"}""", null },
    };

    [Theory]
    [MemberData(nameof(RestBodies))]
    public async Task Mutated_rest_bodies_never_get_a_5xx(string path, string json, string? binary)
    {
        var valid = Encoding.UTF8.GetBytes(json);
        var headerLength = valid.Length;
        if (binary is not null)
        {
            valid = [.. valid, .. GrpcTensors.Raw(new[] { 912.5f, 40, 7, 3, 850, 5 }).ToByteArray()];
        }

        var random = new Random(16);
        for (var i = 0; i < Count; i++)
        {
            var body = Mutator.Basic(valid, random);
            using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new ByteArrayContent(body) };
            request.Content.Headers.ContentType = new MediaTypeHeaderValue(binary is null ? "application/json" : "application/octet-stream");
            if (binary is not null)
            {
                request.Content.Headers.TryAddWithoutValidation(HeaderLength, Math.Min(headerLength, body.Length).ToString(System.Globalization.CultureInfo.InvariantCulture));
            }

            using var response = await fixture.Http.SendAsync(request);
            var text = await response.Content.ReadAsStringAsync();
            Assert.True((int)response.StatusCode < 500, $"mutation {i} ({Convert.ToBase64String(body)}): {(int)response.StatusCode} {text}");
            if (response.StatusCode != HttpStatusCode.OK)
            {
                Assert.Contains("\"error\"", text, StringComparison.Ordinal);
            }
        }

        Assert.Equal(HttpStatusCode.OK, (await PostAsync(fixture.Http, "/v2/models/fraud/infer", FeaturesBody)).Status);
    }

    [Fact]
    public async Task Mutated_grpc_messages_are_never_internal_or_unknown()
    {
        var valid = HostileCorpus.FraudRequest().ToByteArray();
        using var channel = GrpcChannel.ForAddress(fixture.Server.GrpcUri);
        var bytes = Marshallers.Create<byte[]>(b => b, b => b);
        var method = new Method<byte[], byte[]>(MethodType.Unary, "inference.GRPCInferenceService", "ModelInfer", bytes, bytes);
        var random = new Random(16);
        for (var i = 0; i < Count * 2; i++)
        {
            var message = Mutator.Basic(valid, random);
            try
            {
                await channel.CreateCallInvoker().AsyncUnaryCall(method, null, default, message);
            }
            catch (RpcException e)
            {
                Assert.True(e.StatusCode is not (StatusCode.Internal or StatusCode.Unknown), $"mutation {i} ({Convert.ToBase64String(message)}): {e.StatusCode} {e.Status.Detail}");
                Assert.False(string.IsNullOrWhiteSpace(e.Status.Detail));
            }
        }

        var response = await _grpc.Client.ModelInferAsync(HostileCorpus.FraudRequest());
        Assert.Equal([1L, 2L], Assert.Single(response.Outputs).Shape);
    }

    public void Dispose() => _grpc.Dispose();
}
