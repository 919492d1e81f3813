using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Pronto.Server.Tests.Grpc;
using Pronto.Server.Tests.GrpcClient;
using Pronto.Testing;
using static Pronto.Server.Tests.Rest.Rest;

namespace Pronto.Server.Tests;

/// <summary>A server over a tiny decoder ("tiny") and an integer Mod model ("mod"), for the corpus's /v1/completions and engine cases.</summary>
public sealed class HostileGenerativeFixture : IAsyncLifetime
{
    private readonly string _root = Directory.CreateTempSubdirectory("pronto-hostile-").FullName;

    public ProntoServer Server { get; private set; } = null!;

    public HttpClient Http { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        TinyDecoder.Write(_root, "tiny");
        TinyModels.WriteMod(_root, "mod");
        Server = await ServerFixture.StartAsync(options => options.ModelRepository = _root);
        Http = new HttpClient { BaseAddress = Server.HttpUri };
    }

    public async Task DisposeAsync()
    {
        Http.Dispose();
        await Server.StopAsync();
        await Server.DisposeAsync();
        Directory.Delete(_root, recursive: true);
    }
}

/// <summary>
/// The hostile-input corpus (issue 16): cases generated from tables (route x body mutation), over REST JSON, the
/// binary tensor extension, gRPC (typed mistakes and malformed protobuf), /v1/embeddings and /v1/completions. Each
/// asserts the exact status, that an error message comes back, and that the same server then serves a good request.
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class HostileCorpusTests(ServerFixture zoo, HostileGenerativeFixture gen) : IClassFixture<HostileGenerativeFixture>, IDisposable
{
    private readonly GrpcConnection _grpc = new(zoo.Server);

    public static TheoryData<string> Ids
    {
        get
        {
            var data = new TheoryData<string>();
            foreach (var id in HostileCorpus.Cases.Keys)
            {
                data.Add(id);
            }

            return data;
        }
    }

    [Fact]
    public void The_corpus_has_at_least_300_distinct_cases_on_every_surface()
    {
        var cases = HostileCorpus.Cases.Values.ToList();
        Assert.True(cases.Count >= 300, $"{cases.Count} cases");
        Assert.Equal(cases.Count, cases.Select(c => c.Fingerprint).Distinct().Count());
        foreach (var surface in new[] { "rest-json", "rest-binary", "rest-route", "grpc-typed", "grpc-bytes", "v1-embeddings", "v1-completions" })
        {
            Assert.Contains(cases, c => c.Surface == surface);
        }
    }

    [Theory]
    [MemberData(nameof(Ids))]
    public async Task A_hostile_request_gets_its_exact_4xx_and_the_server_still_serves(string id)
    {
        var c = HostileCorpus.Cases[id];
        if (c.Grpc is { } grpc)
        {
            using var channel = GrpcChannel.ForAddress((c.Generative ? gen.Server : zoo.Server).GrpcUri);
            var bytes = Marshallers.Create<byte[]>(b => b, b => b);
            var method = new Method<byte[], byte[]>(MethodType.Unary, "inference.GRPCInferenceService", "ModelInfer", bytes, bytes);
            var error = await Assert.ThrowsAsync<RpcException>(async () => await channel.CreateCallInvoker().AsyncUnaryCall(method, null, default, grpc));
            Assert.True(error.StatusCode == c.GrpcStatus, $"{error.StatusCode}: {error.Status.Detail}");
            Assert.False(string.IsNullOrWhiteSpace(error.Status.Detail));
        }
        else
        {
            var http = c.Generative ? gen.Http : zoo.Http;
            using var request = new HttpRequestMessage(new HttpMethod(c.Method), c.Path);
            if (c.Body is not null)
            {
                request.Content = new ByteArrayContent(c.Body);
                request.Content.Headers.ContentType = new MediaTypeHeaderValue(c.ContentType);
                if (c.HeaderLength is not null)
                {
                    request.Content.Headers.TryAddWithoutValidation(HeaderLength, c.HeaderLength);
                }
            }

            using var response = await http.SendAsync(request);
            var text = await response.Content.ReadAsStringAsync();
            Assert.True((int)response.StatusCode == c.Status, $"{(int)response.StatusCode}: {text}");
            Assert.False(string.IsNullOrWhiteSpace(Message(text)), text);
        }

        await AssertStillServesAsync(c.Generative);
    }

    /// <summary>The message of <c>{"error": "..."}</c> or OpenAI's <c>{"error": {"message": "..."}}</c>.</summary>
    private static string? Message(string text)
    {
        using var doc = JsonDocument.Parse(text);
        var error = doc.RootElement.GetProperty("error");
        return error.ValueKind == JsonValueKind.Object ? error.GetProperty("message").GetString() : error.GetString();
    }

    private async Task AssertStillServesAsync(bool generative)
    {
        if (generative)
        {
            var (status, body) = await PostAsync(gen.Http, "/v1/completions", """{"model":"tiny","prompt":"hello","max_tokens":2,"temperature":0}""");
            Assert.True(status == HttpStatusCode.OK, body.ToString());
            return;
        }

        var (code, json) = await PostAsync(zoo.Http, "/v2/models/fraud/infer", FeaturesBody);
        Assert.Equal(HttpStatusCode.OK, code);
        Assert.Equal("42", json.GetProperty("id").GetString());
        var response = await _grpc.Client.ModelInferAsync(HostileCorpus.FraudRequest());
        Assert.Equal([1L, 2L], Assert.Single(response.Outputs).Shape);
    }

    public void Dispose() => _grpc.Dispose();
}

/// <summary>One case: an HTTP request (method, path, body, headers) and its status, or a gRPC ModelInfer message and its code.</summary>
public sealed record HostileCase(string Surface, string Name, bool Generative, string Method, string Path, byte[]? Body, string ContentType, string? HeaderLength, int Status, byte[]? Grpc, StatusCode GrpcStatus)
{
    public string Fingerprint => $"{Method} {Path} {ContentType} {HeaderLength} {Convert.ToBase64String(Body ?? Grpc ?? [])} {Generative}";
}

/// <summary>The tables the corpus is generated from.</summary>
public static class HostileCorpus
{
    private const string FraudValid = """{"id":"42","inputs":[{"name":"features","shape":[1,6],"datatype":"FP32","data":[[912.5,40,7,3,850,5]]}]}""";

    private static readonly Lazy<Dictionary<string, HostileCase>> All = new(Build);

    public static IReadOnlyDictionary<string, HostileCase> Cases => All.Value;

    public static ModelInferRequest FraudRequest()
    {
        var request = new ModelInferRequest { ModelName = "fraud" };
        request.Inputs.Add(GrpcTensors.Input("features", "FP32", 1, 6));
        request.RawInputContents.Add(GrpcTensors.Raw(new[] { 912.5f, 40, 7, 3, 850, 5 }));
        return request;
    }

    /// <summary>(name, the fraud request's input tensor as JSON): each a client mistake, 400.</summary>
    private static readonly (string Name, string Tensor)[] TensorMutations =
    [
        ("shape-short", """{"name":"features","shape":[1,5],"datatype":"FP32","data":[1,2,3,4,5]}"""),
        ("shape-flat", """{"name":"features","shape":[6],"datatype":"FP32","data":[1,2,3,4,5,6]}"""),
        ("shape-negative", """{"name":"features","shape":[-1,6],"datatype":"FP32","data":[1,2,3,4,5,6]}"""),
        ("shape-zero-batch", """{"name":"features","shape":[0,6],"datatype":"FP32","data":[]}"""),
        ("shape-rank3", """{"name":"features","shape":[1,6,1],"datatype":"FP32","data":[1,2,3,4,5,6]}"""),
        ("shape-empty", """{"name":"features","shape":[],"datatype":"FP32","data":[1]}"""),
        ("shape-huge", """{"name":"features","shape":[1000000000,6],"datatype":"FP32","data":[1]}"""),
        ("shape-int64-max", """{"name":"features","shape":[9223372036854775807,6],"datatype":"FP32","data":[1]}"""),
        ("shape-past-int64", """{"name":"features","shape":[9223372036854775808,6],"datatype":"FP32","data":[1]}"""),
        ("shape-overflow-product", """{"name":"features","shape":[4294967296,4294967296],"datatype":"FP32","data":[1]}"""),
        ("shape-fraction", """{"name":"features","shape":[1.5,6],"datatype":"FP32","data":[1,2,3,4,5,6]}"""),
        ("shape-string", """{"name":"features","shape":["1",6],"datatype":"FP32","data":[1,2,3,4,5,6]}"""),
        ("shape-not-array", """{"name":"features","shape":"1,6","datatype":"FP32","data":[1,2,3,4,5,6]}"""),
        ("shape-null", """{"name":"features","shape":null,"datatype":"FP32","data":[1,2,3,4,5,6]}"""),
        ("shape-missing", """{"name":"features","datatype":"FP32","data":[1,2,3,4,5,6]}"""),
        ("shape-nested", """{"name":"features","shape":[[1],[6]],"datatype":"FP32","data":[1,2,3,4,5,6]}"""),
        ("datatype-fp64", """{"name":"features","shape":[1,6],"datatype":"FP64","data":[1,2,3,4,5,6]}"""),
        ("datatype-int32", """{"name":"features","shape":[1,6],"datatype":"INT32","data":[1,2,3,4,5,6]}"""),
        ("datatype-bytes", """{"name":"features","shape":[1,6],"datatype":"BYTES","data":["1","2","3","4","5","6"]}"""),
        ("datatype-bool", """{"name":"features","shape":[1,6],"datatype":"BOOL","data":[true,true,true,true,true,true]}"""),
        ("datatype-unknown", """{"name":"features","shape":[1,6],"datatype":"FLOAT","data":[1,2,3,4,5,6]}"""),
        ("datatype-lowercase", """{"name":"features","shape":[1,6],"datatype":"fp32","data":[1,2,3,4,5,6]}"""),
        ("datatype-empty", """{"name":"features","shape":[1,6],"datatype":"","data":[1,2,3,4,5,6]}"""),
        ("datatype-number", """{"name":"features","shape":[1,6],"datatype":32,"data":[1,2,3,4,5,6]}"""),
        ("datatype-null", """{"name":"features","shape":[1,6],"datatype":null,"data":[1,2,3,4,5,6]}"""),
        ("datatype-missing", """{"name":"features","shape":[1,6],"data":[1,2,3,4,5,6]}"""),
        ("data-too-few", """{"name":"features","shape":[1,6],"datatype":"FP32","data":[1,2,3,4,5]}"""),
        ("data-too-many", """{"name":"features","shape":[1,6],"datatype":"FP32","data":[1,2,3,4,5,6,7]}"""),
        ("data-string", """{"name":"features","shape":[1,6],"datatype":"FP32","data":[1,2,3,"x",5,6]}"""),
        ("data-bool", """{"name":"features","shape":[1,6],"datatype":"FP32","data":[1,2,3,true,5,6]}"""),
        ("data-null-element", """{"name":"features","shape":[1,6],"datatype":"FP32","data":[1,2,3,null,5,6]}"""),
        ("data-object-element", """{"name":"features","shape":[1,6],"datatype":"FP32","data":[1,2,3,{},5,6]}"""),
        ("data-out-of-range", """{"name":"features","shape":[1,6],"datatype":"FP32","data":[1e39,2,3,4,5,6]}"""),
        ("data-nan-string", """{"name":"features","shape":[1,6],"datatype":"FP32","data":["NaN",2,3,4,5,6]}"""),
        ("data-bare-nan", """{"name":"features","shape":[1,6],"datatype":"FP32","data":[NaN,2,3,4,5,6]}"""),
        ("data-null", """{"name":"features","shape":[1,6],"datatype":"FP32","data":null}"""),
        ("data-object", """{"name":"features","shape":[1,6],"datatype":"FP32","data":{"a":1}}"""),
        ("data-scalar", """{"name":"features","shape":[1,6],"datatype":"FP32","data":1}"""),
        ("data-missing", """{"name":"features","shape":[1,6],"datatype":"FP32"}"""),
        ("data-ragged", """{"name":"features","shape":[1,6],"datatype":"FP32","data":[[1,2,3],[4,5]]}"""),
        ("data-deep", """{"name":"features","shape":[1,6],"datatype":"FP32","data":""" + new string('[', 200) + new string(']', 200) + "}"),
        ("name-missing", """{"shape":[1,6],"datatype":"FP32","data":[1,2,3,4,5,6]}"""),
        ("name-empty", """{"name":"","shape":[1,6],"datatype":"FP32","data":[1,2,3,4,5,6]}"""),
        ("name-unknown", """{"name":"other","shape":[1,6],"datatype":"FP32","data":[1,2,3,4,5,6]}"""),
        ("name-number", """{"name":7,"shape":[1,6],"datatype":"FP32","data":[1,2,3,4,5,6]}"""),
        ("name-null", """{"name":null,"shape":[1,6],"datatype":"FP32","data":[1,2,3,4,5,6]}"""),
        ("name-escape-nul", """{"name":"features\u0000","shape":[1,6],"datatype":"FP32","data":[1,2,3,4,5,6]}"""),
        ("name-lone-surrogate", """{"name":"\ud800","shape":[1,6],"datatype":"FP32","data":[1,2,3,4,5,6]}"""),
        ("property-lone-surrogate", """{"name":"features","\ud800":1,"shape":[1,6],"datatype":"FP32","data":[1,2,3,4,5,6]}"""),
        ("binary-size-no-bytes", """{"name":"features","shape":[1,6],"datatype":"FP32","parameters":{"binary_data_size":24}}"""),
        ("binary-size-negative", """{"name":"features","shape":[1,6],"datatype":"FP32","parameters":{"binary_data_size":-1}}"""),
        ("binary-size-string", """{"name":"features","shape":[1,6],"datatype":"FP32","parameters":{"binary_data_size":"24"}}"""),
        ("parameters-not-object", """{"name":"features","shape":[1,6],"datatype":"FP32","parameters":[],"data":[1,2,3,4,5,6]}"""),
        ("tensor-array", """[1,2,3]"""),
        ("tensor-string", "\"features\""),
        ("tensor-null", "null"),
    ];

    /// <summary>(name, a whole JSON body): 400 each.</summary>
    private static readonly (string Name, string Body)[] BodyMutations =
    [
        ("inputs-empty", """{"inputs":[]}"""),
        ("inputs-missing", """{"id":"1"}"""),
        ("inputs-null", """{"inputs":null}"""),
        ("inputs-object", """{"inputs":{}}"""),
        ("inputs-duplicate", """{"inputs":[{"name":"features","shape":[1,6],"datatype":"FP32","data":[1,2,3,4,5,6]},{"name":"features","shape":[1,6],"datatype":"FP32","data":[1,2,3,4,5,6]}]}"""),
        ("inputs-extra", """{"inputs":[{"name":"features","shape":[1,6],"datatype":"FP32","data":[1,2,3,4,5,6]},{"name":"extra","shape":[1],"datatype":"FP32","data":[1]}]}"""),
        ("output-unknown", """{"inputs":[{"name":"features","shape":[1,6],"datatype":"FP32","data":[1,2,3,4,5,6]}],"outputs":[{"name":"nope"}]}"""),
        ("output-classification-negative", """{"inputs":[{"name":"features","shape":[1,6],"datatype":"FP32","data":[1,2,3,4,5,6]}],"outputs":[{"name":"probabilities","parameters":{"classification":-1}}]}"""),
        ("output-classification-string", """{"inputs":[{"name":"features","shape":[1,6],"datatype":"FP32","data":[1,2,3,4,5,6]}],"outputs":[{"name":"probabilities","parameters":{"classification":"x"}}]}"""),
        ("outputs-not-array", """{"inputs":[{"name":"features","shape":[1,6],"datatype":"FP32","data":[1,2,3,4,5,6]}],"outputs":"probabilities"}"""),
        ("fields-bad-json", """{"inputs":[{"name":"fields","shape":[1],"datatype":"BYTES","data":["not json"]}]}"""),
        ("fields-missing", """{"inputs":[{"name":"fields","shape":[1],"datatype":"BYTES","data":["{\"amount\": 1}"]}]}"""),
        ("fields-string-value", """{"inputs":[{"name":"fields","shape":[1],"datatype":"BYTES","data":["{\"amount\": \"NaN\", \"customer_avg_amount\": 40, \"merchant_category\": 7, \"hour\": 3, \"distance_km\": 850, \"txn_last_hour\": 5}"]}]}"""),
        ("fields-zero-rows", """{"inputs":[{"name":"fields","shape":[0],"datatype":"BYTES","data":[]}]}"""),
        ("body-empty", ""),
        ("body-array", "[]"),
        ("body-number", "42"),
        ("body-string", "\"x\""),
        ("body-null", "null"),
        ("body-not-json", "not json"),
        ("body-trailing-garbage", FraudValid + "}"),
        ("body-two-documents", FraudValid + FraudValid),
        ("body-deep-objects", string.Concat(Enumerable.Repeat("{\"a\":", 100)) + "1" + new string('}', 100)),
        ("body-deep-arrays", new string('[', 10_000)),
        ("body-single-quotes", "{'inputs':[]}"),
        ("body-comment", "/* c */" + FraudValid),
        ("body-bom-garbage", "\uFEFF\uFEFF" + FraudValid),
    ];

    private static Dictionary<string, HostileCase> Build()
    {
        var cases = new List<HostileCase>();
        void Http(string surface, string name, string method, string path, byte[]? body, int status, string contentType = "application/json", string? headerLength = null, bool generative = false) =>
            cases.Add(new HostileCase(surface, name, generative, method, path, body, contentType, headerLength, status, null, StatusCode.OK));
        void Grpc(string surface, string name, byte[] message, StatusCode status, bool generative = false) =>
            cases.Add(new HostileCase(surface, name, generative, "POST", "", null, "", null, 0, message, status));
        static byte[] Utf8(string s) => Encoding.UTF8.GetBytes(s);

        // REST JSON: route x mutation.
        string[] routes = ["/v2/models/fraud/infer", "/v2/models/fraud/versions/1/infer"];
        foreach (var route in routes)
        {
            foreach (var (name, tensor) in TensorMutations)
            {
                Http("rest-json", $"{route} {name}", "POST", route, Utf8($$"""{"inputs":[{{tensor}}]}"""), 400);
            }

            foreach (var (name, body) in BodyMutations)
            {
                Http("rest-json", $"{route} {name}", "POST", route, Utf8(body), 400);
            }

            // The valid body cut short at every 6th byte, and with invalid UTF-8 inside its strings.
            var valid = Utf8(FraudValid);
            for (var cut = 1; cut < valid.Length; cut += 6)
            {
                Http("rest-json", $"{route} truncated-{cut}", "POST", route, valid[..cut], 400);
            }

            foreach (var at in new[] { 8, 17, 60 })
            {
                var bad = (byte[])valid.Clone();
                bad[at] = 0xC3;
                bad[at + 1] = 0x28;
                Http("rest-json", $"{route} invalid-utf8-{at}", "POST", route, bad, 400);
            }
        }

        // The binary extension: Inference-Header-Content-Length x bytes that follow (0x40 each).
        var header = Utf8("""{"inputs":[{"name":"features","shape":[1,6],"datatype":"FP32","parameters":{"binary_data_size":24}}]}""");
        var exact = header.Length.ToString(System.Globalization.CultureInfo.InvariantCulture);
        string?[] lengths = [exact, "0", "-1", "abc", "", "1e3", " 5", "99999", "9223372036854775808", (header.Length - 1).ToString(System.Globalization.CultureInfo.InvariantCulture), (header.Length + 1).ToString(System.Globalization.CultureInfo.InvariantCulture)];
        int[] tails = [0, 1, 12, 23, 25, 48];
        foreach (var length in lengths)
        {
            foreach (var tail in tails)
            {
                var body = new byte[header.Length + tail];
                header.CopyTo(body, 0);
                body.AsSpan(header.Length).Fill(0x40);
                Http("rest-binary", $"header-length '{length}' + {tail} bytes", "POST", "/v2/models/fraud/infer", body, 400, "application/octet-stream", length);
            }
        }

        var bytesHeader = Utf8("""{"inputs":[{"name":"fields","shape":[1],"datatype":"BYTES","parameters":{"binary_data_size":24}}]}""");
        foreach (var prefix in new[] { 0xFFFFFFFFu, 21u, 25u, 0x80000000u })
        {
            var body = new byte[bytesHeader.Length + 24];
            bytesHeader.CopyTo(body, 0);
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(body.AsSpan(bytesHeader.Length), prefix);
            Http("rest-binary", $"bytes-length-prefix {prefix}", "POST", "/v2/models/fraud/infer", body, 400, "application/octet-stream", bytesHeader.Length.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        // Routes and methods: unknown models, versions, paths; wrong methods.
        foreach (var model in new[] { "nope", "FRAUD", "fraud.onnx", "%2E%2E%2Ffraud", "..%2F..%2Fetc", "fraud%2F..%2Ffraud", new string('m', 300) })
        {
            Http("rest-route", $"infer {model}", "POST", $"/v2/models/{model}/infer", Utf8(FraudValid), 404);
            Http("rest-route", $"metadata {model}", "GET", $"/v2/models/{model}", null, 404);
            Http("rest-route", $"ready {model}", "GET", $"/v2/models/{model}/ready", null, 404);
            Http("rest-route", $"config {model}", "GET", $"/v2/models/{model}/config", null, 404);
        }

        foreach (var version in new[] { "0", "9", "-1", "abc", "99999999999999999999" })
        {
            Http("rest-route", $"version {version}", "POST", $"/v2/models/fraud/versions/{version}/infer", Utf8(FraudValid), 404);
        }

        foreach (var path in new[] { "/v2/nothing", "/v2/models/fraud/infer/extra", "/v2/models/fraud/predict", "/v1/nothing", "/v1/models/fraud/infer", "/v2/models/fraud/versions/1/bogus", "/nothing", "/v3/models/fraud/infer", "/models/fraud/infer" })
        {
            Http("rest-route", $"unknown {path}", "POST", path, Utf8(FraudValid), 404);
        }

        foreach (var method in new[] { "GET", "PUT", "DELETE", "PATCH" })
        {
            Http("rest-route", $"{method} infer", method, "/v2/models/fraud/infer", method == "GET" || method == "DELETE" ? null : Utf8(FraudValid), 405);
        }

        // gRPC, typed mistakes.
        ModelInferRequest Fraud(Action<ModelInferRequest> change)
        {
            var request = FraudRequest();
            change(request);
            return request;
        }

        var typed = new (string Name, ModelInferRequest Request, StatusCode Status)[]
        {
            ("unknown-model", Fraud(r => r.ModelName = "nope"), StatusCode.NotFound),
            ("empty-model", Fraud(r => r.ModelName = ""), StatusCode.InvalidArgument),
            ("unknown-version", Fraud(r => r.ModelVersion = "9"), StatusCode.NotFound),
            ("bad-version", Fraud(r => r.ModelVersion = "abc"), StatusCode.NotFound),
            ("missing-input", Fraud(r => { r.Inputs.Clear(); r.RawInputContents.Clear(); }), StatusCode.InvalidArgument),
            ("unknown-input", Fraud(r => r.Inputs[0].Name = "other"), StatusCode.InvalidArgument),
            ("datatype-fp64", Fraud(r => r.Inputs[0].Datatype = "FP64"), StatusCode.InvalidArgument),
            ("datatype-int32", Fraud(r => r.Inputs[0].Datatype = "INT32"), StatusCode.InvalidArgument),
            ("datatype-unknown", Fraud(r => r.Inputs[0].Datatype = "FLOAT"), StatusCode.InvalidArgument),
            ("datatype-empty", Fraud(r => r.Inputs[0].Datatype = ""), StatusCode.InvalidArgument),
            ("shape-short", Fraud(r => { r.Inputs[0].Shape.Clear(); r.Inputs[0].Shape.Add([1, 5]); }), StatusCode.InvalidArgument),
            ("shape-flat", Fraud(r => { r.Inputs[0].Shape.Clear(); r.Inputs[0].Shape.Add(6); }), StatusCode.InvalidArgument),
            ("shape-negative", Fraud(r => { r.Inputs[0].Shape.Clear(); r.Inputs[0].Shape.Add([-1, 6]); }), StatusCode.InvalidArgument),
            ("shape-zero", Fraud(r => { r.Inputs[0].Shape.Clear(); r.Inputs[0].Shape.Add([0, 6]); }), StatusCode.InvalidArgument),
            ("shape-empty", Fraud(r => r.Inputs[0].Shape.Clear()), StatusCode.InvalidArgument),
            ("shape-huge", Fraud(r => { r.Inputs[0].Shape.Clear(); r.Inputs[0].Shape.Add([1_000_000_000, 6]); }), StatusCode.InvalidArgument),
            ("shape-int64-max", Fraud(r => { r.Inputs[0].Shape.Clear(); r.Inputs[0].Shape.Add([long.MaxValue, 6]); }), StatusCode.InvalidArgument),
            ("shape-overflow", Fraud(r => { r.Inputs[0].Shape.Clear(); r.Inputs[0].Shape.Add([1L << 32, 1L << 32]); }), StatusCode.InvalidArgument),
            ("shape-batch-past-max", Fraud(r => { r.Inputs[0].Shape.Clear(); r.Inputs[0].Shape.Add([5000, 6]); }), StatusCode.InvalidArgument),
            ("raw-short", Fraud(r => r.RawInputContents[0] = GrpcTensors.Raw(new[] { 1f, 2, 3 })), StatusCode.InvalidArgument),
            ("raw-long", Fraud(r => r.RawInputContents[0] = GrpcTensors.Raw(new float[7])), StatusCode.InvalidArgument),
            ("raw-odd", Fraud(r => r.RawInputContents[0] = ByteString.CopyFrom(new byte[23])), StatusCode.InvalidArgument),
            ("raw-empty", Fraud(r => r.RawInputContents[0] = ByteString.Empty), StatusCode.InvalidArgument),
            ("raw-missing", Fraud(r => r.RawInputContents.Clear()), StatusCode.InvalidArgument),
            ("raw-extra", Fraud(r => r.RawInputContents.Add(GrpcTensors.Raw(new float[6]))), StatusCode.InvalidArgument),
            ("raw-and-typed", Fraud(r => r.Inputs[0].Contents = new InferTensorContents { Fp32Contents = { 1, 2, 3, 4, 5, 6 } }), StatusCode.InvalidArgument),
            ("typed-wrong-field", Fraud(r => { r.RawInputContents.Clear(); r.Inputs[0].Contents = new InferTensorContents { IntContents = { 1, 2, 3, 4, 5, 6 } }; }), StatusCode.InvalidArgument),
            ("typed-short", Fraud(r => { r.RawInputContents.Clear(); r.Inputs[0].Contents = new InferTensorContents { Fp32Contents = { 1, 2 } }; }), StatusCode.InvalidArgument),
            ("typed-empty", Fraud(r => { r.RawInputContents.Clear(); r.Inputs[0].Contents = new InferTensorContents(); }), StatusCode.InvalidArgument),
            ("duplicate-input", Fraud(r => { r.Inputs.Add(GrpcTensors.Input("features", "FP32", 1, 6)); r.RawInputContents.Add(GrpcTensors.Raw(new float[6])); }), StatusCode.InvalidArgument),
            ("extra-input", Fraud(r => { r.Inputs.Add(GrpcTensors.Input("extra", "FP32", 1)); r.RawInputContents.Add(GrpcTensors.Raw(new float[1])); }), StatusCode.InvalidArgument),
            ("unknown-output", Fraud(r => r.Outputs.Add(new ModelInferRequest.Types.InferRequestedOutputTensor { Name = "nope" })), StatusCode.InvalidArgument),
            ("bytes-bad-prefix", Fraud(r => { r.Inputs[0] = GrpcTensors.Input("fields", "BYTES", 1); r.RawInputContents[0] = ByteString.CopyFrom([0xFF, 0xFF, 0xFF, 0x7F, 1]); }), StatusCode.InvalidArgument),
            ("bytes-not-json", Fraud(r => { r.Inputs[0] = GrpcTensors.Input("fields", "BYTES", 1); r.RawInputContents[0] = GrpcTensors.RawStrings(Utf8("not json")); }), StatusCode.InvalidArgument),
            ("image-empty", new ModelInferRequest { ModelName = "resnet18", Inputs = { GrpcTensors.Input("image", "BYTES", 1) }, RawInputContents = { GrpcTensors.RawStrings([]) } }, StatusCode.InvalidArgument),
            ("image-garbage", new ModelInferRequest { ModelName = "resnet18", Inputs = { GrpcTensors.Input("image", "BYTES", 1) }, RawInputContents = { GrpcTensors.RawStrings(Utf8("garbage")) } }, StatusCode.InvalidArgument),
            ("minilm-no-text", new ModelInferRequest { ModelName = "minilm", Inputs = { GrpcTensors.Input("input_ids", "INT64", 1, 3) }, RawInputContents = { GrpcTensors.Raw(new long[] { 101, 102, 103 }) } }, StatusCode.InvalidArgument),
            ("minilm-token-id-past-vocab", new ModelInferRequest { ModelName = "minilm", Inputs = { GrpcTensors.Input("input_ids", "INT64", 1, 2), GrpcTensors.Input("attention_mask", "INT64", 1, 2), GrpcTensors.Input("token_type_ids", "INT64", 1, 2) }, RawInputContents = { GrpcTensors.Raw(new long[] { 101, 999_999_999 }), GrpcTensors.Raw(new long[] { 1, 1 }), GrpcTensors.Raw(new long[] { 0, 0 }) } }, StatusCode.InvalidArgument),
        };
        foreach (var (name, request, status) in typed)
        {
            Grpc("grpc-typed", name, request.ToByteArray(), status);
        }

        // Integer Mod by zero: ONNX Runtime fails the run; the client sent the zero (issue 16, once a 500 / INTERNAL).
        var mod = new ModelInferRequest { ModelName = "mod" };
        mod.Inputs.Add(GrpcTensors.Input("a", "INT32", 3));
        mod.Inputs.Add(GrpcTensors.Input("b", "INT32", 3));
        mod.RawInputContents.Add(GrpcTensors.Raw(new[] { 5, 7, 9 }));
        mod.RawInputContents.Add(GrpcTensors.Raw(new[] { 3, 0, 2 }));
        Grpc("grpc-typed", "mod-by-zero", mod.ToByteArray(), StatusCode.InvalidArgument, generative: true);
        Http("rest-json", "mod-by-zero", "POST", "/v2/models/mod/infer", Utf8("""{"inputs":[{"name":"a","shape":[3],"datatype":"INT32","data":[5,7,9]},{"name":"b","shape":[3],"datatype":"INT32","data":[3,0,2]}]}"""), 400, generative: true);

        // gRPC, malformed bytes: the valid message cut at every point where the protobuf parser itself refuses it,
        // and with single bytes overwritten where that makes it unparseable.
        var whole = FraudRequest().ToByteArray();
        for (var cut = 1; cut < whole.Length; cut++)
        {
            if (!Parses(whole[..cut]))
            {
                Grpc("grpc-bytes", $"truncated-{cut}", whole[..cut], StatusCode.InvalidArgument);
            }
        }

        foreach (var b in new byte[] { 0x00, 0xFF, 0x07 })
        {
            for (var at = 0; at < whole.Length; at += 9)
            {
                var bad = (byte[])whole.Clone();
                bad[at] = b;
                if (!Parses(bad))
                {
                    Grpc("grpc-bytes", $"byte-{b:x2}-at-{at}", bad, StatusCode.InvalidArgument);
                }
            }
        }

        // /v1/embeddings (minilm in the zoo).
        var embeddings = new (string Name, string Body, int Status)[]
        {
            ("unknown-model", """{"model":"nope","input":"x"}""", 404),
            ("not-embedding-model", """{"model":"fraud","input":"x"}""", 400),
            ("model-missing", """{"input":"x"}""", 400),
            ("model-number", """{"model":1,"input":"x"}""", 400),
            ("model-null", """{"model":null,"input":"x"}""", 400),
            ("input-missing", """{"model":"minilm"}""", 400),
            ("input-null", """{"model":"minilm","input":null}""", 400),
            ("input-number", """{"model":"minilm","input":5}""", 400),
            ("input-object", """{"model":"minilm","input":{"a":1}}""", 400),
            ("input-empty-array", """{"model":"minilm","input":[]}""", 400),
            ("input-mixed", """{"model":"minilm","input":["a",1]}""", 400),
            ("input-nested-strings", """{"model":"minilm","input":[["a"]]}""", 400),
            ("input-null-element", """{"model":"minilm","input":["a",null]}""", 400),
            ("input-too-many", "{\"model\":\"minilm\",\"input\":[" + string.Join(",", Enumerable.Repeat("\"a\"", 2049)) + "]}", 400),
            ("encoding-unknown", """{"model":"minilm","input":"x","encoding_format":"hex"}""", 400),
            ("encoding-number", """{"model":"minilm","input":"x","encoding_format":1}""", 400),
            ("dimensions-zero", """{"model":"minilm","input":"x","dimensions":0}""", 400),
            ("dimensions-negative", """{"model":"minilm","input":"x","dimensions":-5}""", 400),
            ("dimensions-too-many", """{"model":"minilm","input":"x","dimensions":100000}""", 400),
            ("dimensions-string", """{"model":"minilm","input":"x","dimensions":"384"}""", 400),
            ("dimensions-fraction", """{"model":"minilm","input":"x","dimensions":1.5}""", 400),
            ("dimensions-bool", """{"model":"minilm","input":"x","dimensions":true}""", 400),
            ("body-array", "[]", 400),
            ("body-empty", "", 400),
            ("body-not-json", "nope", 400),
            ("body-deep", new string('[', 5_000), 400),
            ("body-invalid-utf8", "{\"model\":\"minilm\",\"input\":\"\u00ff\"}", 400),
        };
        foreach (var (name, body, status) in embeddings)
        {
            var bytes = Utf8(body);
            if (name == "body-invalid-utf8")
            {
                bytes = [.. Utf8("""{"model":"minilm","input":" """.TrimEnd()), 0xC3, 0x28, .. Utf8("\"}")];
            }

            Http("v1-embeddings", name, "POST", "/v1/embeddings", bytes, status);
        }

        var validEmbeddings = Utf8("""{"model":"minilm","input":["hello","world"]}""");
        for (var cut = 1; cut < validEmbeddings.Length; cut += 4)
        {
            Http("v1-embeddings", $"truncated-{cut}", "POST", "/v1/embeddings", validEmbeddings[..cut], 400);
        }

        Http("v1-embeddings", "GET", "GET", "/v1/embeddings", null, 404);

        // /v1/completions and /v1/chat/completions (the tiny decoder).
        var completions = new (string Name, string Body, int Status)[]
        {
            ("unknown-model", """{"model":"nope","prompt":"x"}""", 404),
            ("not-generative", """{"model":"mod","prompt":"x"}""", 400),
            ("model-missing", """{"prompt":"x"}""", 400),
            ("prompt-missing", """{"model":"tiny"}""", 400),
            ("prompt-number", """{"model":"tiny","prompt":5}""", 400),
            ("prompt-object", """{"model":"tiny","prompt":{}}""", 400),
            ("prompt-token-past-vocab", """{"model":"tiny","prompt":[100000]}""", 400),
            ("prompt-token-negative", """{"model":"tiny","prompt":[-1]}""", 400),
            ("prompt-too-long", "{\"model\":\"tiny\",\"prompt\":\"" + new string('a', 2000) + "\"}", 400),
            ("max-tokens-negative", """{"model":"tiny","prompt":"x","max_tokens":-1}""", 400),
            ("max-tokens-string", """{"model":"tiny","prompt":"x","max_tokens":"5"}""", 400),
            ("max-tokens-huge", """{"model":"tiny","prompt":"x","max_tokens":1000000}""", 400),
            ("temperature-negative", """{"model":"tiny","prompt":"x","temperature":-1}""", 400),
            ("temperature-string", """{"model":"tiny","prompt":"x","temperature":"hot"}""", 400),
            ("top-p-past-one", """{"model":"tiny","prompt":"x","top_p":2}""", 400),
            ("n-zero", """{"model":"tiny","prompt":"x","n":0}""", 400),
            ("stop-number", """{"model":"tiny","prompt":"x","stop":5}""", 400),
            ("stream-string", """{"model":"tiny","prompt":"x","stream":"true"}""", 400),
            ("stream-number", """{"model":"tiny","prompt":"x","stream":1}""", 400),
            ("stream-options-string", """{"model":"tiny","prompt":"x","stream":true,"stream_options":"usage"}""", 400),
            ("include-usage-number", """{"model":"tiny","prompt":"x","stream":true,"stream_options":{"include_usage":1}}""", 400),
            ("ignore-eos-string", """{"model":"tiny","prompt":"x","ignore_eos":"yes"}""", 400),
            ("top-k-fraction", """{"model":"tiny","prompt":"x","top_k":2.5}""", 400),
            ("body-array", "[]", 400),
            ("body-empty", "", 400),
            ("body-not-json", "nope", 400),
            ("body-deep", new string('{', 5_000), 400),
        };
        foreach (var (name, body, status) in completions)
        {
            Http("v1-completions", name, "POST", "/v1/completions", Utf8(body), status, generative: true);
        }

        var chat = new (string Name, string Body, int Status)[]
        {
            ("messages-missing", """{"model":"tiny"}""", 400),
            ("messages-empty", """{"model":"tiny","messages":[]}""", 400),
            ("messages-string", """{"model":"tiny","messages":"hi"}""", 400),
            ("message-no-role", """{"model":"tiny","messages":[{"content":"hi"}]}""", 400),
            ("message-content-number", """{"model":"tiny","messages":[{"role":"user","content":5}]}""", 400),
            ("unknown-model", """{"model":"nope","messages":[{"role":"user","content":"hi"}]}""", 404),
        };
        foreach (var (name, body, status) in chat)
        {
            Http("v1-completions", $"chat {name}", "POST", "/v1/chat/completions", Utf8(body), status, generative: true);
        }

        var validCompletion = Utf8("""{"model":"tiny","prompt":"hello","max_tokens":2}""");
        for (var cut = 1; cut < validCompletion.Length; cut += 4)
        {
            Http("v1-completions", $"truncated-{cut}", "POST", "/v1/completions", validCompletion[..cut], 400, generative: true);
        }

        return cases.ToDictionary(c => $"{c.Surface}: {c.Name}", StringComparer.Ordinal);
    }

    private static bool Parses(byte[] message)
    {
        try
        {
            ModelInferRequest.Parser.ParseFrom(message);
            return true;
        }
        catch (InvalidProtocolBufferException)
        {
            return false;
        }
    }
}
