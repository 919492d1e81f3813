using System.Net;
using System.Text;
using System.Text.Json;
using static Pronto.Server.Tests.Rest.Rest;

namespace Pronto.Server.Tests.Rest;

/// <summary>A server over the fraud model only, shared by the bad-input matrix.</summary>
public sealed class FraudServerFixture : IAsyncLifetime
{
    private OwnServer _own = null!;

    public HttpClient Http => _own.Http;

    public async Task InitializeAsync() => _own = await OwnServer.StartAsync(["fraud"]);

    public async Task DisposeAsync() => await _own.DisposeAsync();
}

/// <summary>
/// Bad requests get the right 4xx and a message naming the problem, never a crash or a 500; after each one the
/// same server still answers a good request.
/// </summary>
public sealed class BadInputTests(FraudServerFixture fixture) : IClassFixture<FraudServerFixture>
{
    private const string Fraud = "/v2/models/fraud/infer";

    /// <summary>(JSON body, status, a piece of the message that names the problem).</summary>
    public static TheoryData<string, int, string> JsonCases => new()
    {
        // wrong shape
        { """{"inputs":[{"name":"features","shape":[1,5],"datatype":"FP32","data":[1,2,3,4,5]}]}""", 400, "input 'features': expected shape FP32 [-1,6], got [1,5]" },
        { """{"inputs":[{"name":"features","shape":[6],"datatype":"FP32","data":[1,2,3,4,5,6]}]}""", 400, "input 'features': expected shape FP32 [-1,6], got [6]" },
        { """{"inputs":[{"name":"features","shape":[-1,6],"datatype":"FP32","data":[1,2,3,4,5,6]}]}""", 400, "input 'features': shape [-1,6] has a negative dimension" },
        { """{"inputs":[{"name":"features","shape":[1000000000,6],"datatype":"FP32","data":[1]}]}""", 400, "input 'features' has 6000000000 elements, more than the limit of 16777216 for a JSON tensor" },
        { """{"inputs":[{"name":"features","shape":[1,6],"datatype":"FP32","data":[1,2,3,4,5,6]}],"outputs":[{"name":"probabilities","parameters":{"classification":-1}}]}""", 400, "output 'probabilities': classification must be a non-negative integer" },
        // wrong datatype
        { """{"inputs":[{"name":"features","shape":[1,6],"datatype":"FP64","data":[1,2,3,4,5,6]}]}""", 400, "input 'features': expected datatype FP32, got FP64" },
        { """{"inputs":[{"name":"features","shape":[1,6],"datatype":"FLOAT","data":[1,2,3,4,5,6]}]}""", 400, "input 'features': unknown datatype 'FLOAT'; valid datatypes are BOOL, UINT8," },
        { """{"inputs":[{"name":"features","shape":[1,6],"datatype":"FP32","data":[1,2,3,"x",5,6]}]}""", 400, "input 'features' element 3: \"x\" is not an FP32" },
        { """{"inputs":[{"name":"features","shape":[1,6],"datatype":"FP32","data":[1e39,2,3,4,5,6]}]}""", 400, "input 'features' element 0: 1e39 is not an FP32" },
        // wrong element count
        { """{"inputs":[{"name":"features","shape":[1,6],"datatype":"FP32","data":[1,2,3,4,5]}]}""", 400, "input 'features': shape [1,6] needs 6 elements, 'data' has 5" },
        { """{"inputs":[{"name":"features","shape":[1,6],"datatype":"FP32","data":[1,2,3,4,5,6,7]}]}""", 400, "input 'features': shape [1,6] needs 6 elements, 'data' has 7" },
        // empty tensor
        { """{"inputs":[{"name":"features","shape":[0,6],"datatype":"FP32","data":[]}]}""", 400, "input 'features': batch size 0 is outside 1..4096 (max_batch_size of model 'fraud')" },
        // missing, extra input, unknown output
        { """{"inputs":[]}""", 400, "missing input 'features' for model 'fraud' (expected FP32 [-1,6])" },
        { """{"id":"1"}""", 400, "the request has no 'inputs'" },
        { """{"inputs":[{"name":"features","shape":[1,6],"datatype":"FP32","data":[1,2,3,4,5,6]},{"name":"extra","shape":[1],"datatype":"FP32","data":[1]}]}""", 400, "unexpected input 'extra' for model 'fraud'; its inputs are features" },
        { """{"inputs":[{"name":"other","shape":[1,6],"datatype":"FP32","data":[1,2,3,4,5,6]}]}""", 400, "unexpected input 'other' for model 'fraud'; its inputs are features" },
        { """{"inputs":[{"name":"features","shape":[1,6],"datatype":"FP32","data":[1,2,3,4,5,6]}],"outputs":[{"name":"nope"}]}""", 400, "unknown output 'nope' for model 'fraud'; its outputs are probabilities" },
        // malformed JSON
        { """{"inputs":[{"name":"features",""", 400, "malformed JSON at byte 29" },
        { "not json", 400, "malformed JSON at byte 1" },
        { "", 400, "malformed JSON at byte 0" },
        { "[]", 400, "the request body must be a JSON object" },
        // bare NaN and infinities (Triton's and Python's json.dumps spelling) get a message saying what to send instead
        { """{"inputs":[{"name":"features","shape":[1,6],"datatype":"FP32","data":[NaN,2,3,4,5,6]}]}""", 400, "malformed JSON at byte 70: NaN and infinities are not JSON numbers; send the strings \"NaN\", \"Infinity\" or \"-Infinity\", or the tensor as binary data" },
        { """{"inputs":[{"name":"features","shape":[1,6],"datatype":"FP32","data":[1,-Infinity,3,4,5,6]}]}""", 400, "NaN and infinities are not JSON numbers" },
        { """{"inputs":[{"name":"features","shape":[1,6],"datatype":"FP32","data":[1,2,Inf,4,5,6]}]}""", 400, "NaN and infinities are not JSON numbers" },
        // fields: the preparer rejects what is not a finite number, and names the row and field
        { """{"inputs":[{"name":"fields","shape":[1],"datatype":"BYTES","data":["{\"amount\": 1e39, \"customer_avg_amount\": 40, \"merchant_category\": 7, \"hour\": 3, \"distance_km\": 850, \"txn_last_hour\": 5}"]}]}""", 400, "row 0: field 'amount' is out of the FP32 range" },
        { """{"inputs":[{"name":"fields","shape":[1],"datatype":"BYTES","data":["{\"amount\": \"NaN\", \"customer_avg_amount\": 40, \"merchant_category\": 7, \"hour\": 3, \"distance_km\": 850, \"txn_last_hour\": 5}"]}]}""", 400, "row 0: field 'amount' must be a number, got a string" },
        { """{"inputs":[{"name":"fields","shape":[1],"datatype":"BYTES","data":["{\"amount\": 1}"]}]}""", 400, "row 0: missing fields customer_avg_amount, merchant_category, hour, distance_km, txn_last_hour" },
        { """{"inputs":[{"name":"fields","shape":[1],"datatype":"BYTES","data":["not json"]}]}""", 400, "row 0: malformed JSON" },
        { """{"inputs":[{"name":"fields","shape":[0],"datatype":"BYTES","data":[]}]}""", 400, "input 'fields' must have shape [n] or [n,1] with n >= 1, got [0]" },
        // binary_data_size without a binary part
        { """{"inputs":[{"name":"features","shape":[1,6],"datatype":"FP32","parameters":{"binary_data_size":24}}]}""", 400, "input 'features' declares 24 binary bytes but only 0 remain" },
    };

    [Theory]
    [MemberData(nameof(JsonCases))]
    public async Task Bad_json_requests_get_a_4xx_naming_the_problem(string body, int status, string named)
    {
        var (code, json) = await PostAsync(fixture.Http, Fraud, body);
        Assert.Equal((HttpStatusCode)status, code);
        Assert.Contains(named, Error(json), StringComparison.Ordinal);
        await AssertStillServes();
    }

    /// <summary>
    /// The codec reads the strings "NaN"/"Infinity"/"-Infinity" for FP32 (the form responses use), and the bundled
    /// fraud model's config sets pronto.reject_non_finite: the request is a 400 naming the element.
    /// </summary>
    [Theory]
    [InlineData("\"NaN\"", 0)]
    [InlineData("\"Infinity\"", 2)]
    [InlineData("\"-Infinity\"", 5)]
    public async Task Non_finite_raw_features_are_rejected(string value, int position)
    {
        var values = new[] { "912.5", "40", "7", "3", "850", "5" };
        values[position] = value;
        var body = $$"""{"inputs":[{"name":"features","shape":[1,6],"datatype":"FP32","data":[{{string.Join(",", values)}}]}]}""";
        var (code, json) = await PostAsync(fixture.Http, Fraud, body);
        Assert.Equal(HttpStatusCode.BadRequest, code);
        Assert.Equal($"input 'features' element {position} is NaN or infinite; model 'fraud' takes finite numbers only (its config sets pronto.reject_non_finite)", json.GetProperty("error").GetString());
        await AssertStillServes();
    }

    /// <summary>(JSON header, bytes after it, Inference-Header-Content-Length or null for the JSON's length, piece of the message).</summary>
    public static TheoryData<string, int, string?, string> BinaryCases => new()
    {
        // binary_data_size disagrees with the shape
        { """{"inputs":[{"name":"features","shape":[1,6],"datatype":"FP32","parameters":{"binary_data_size":20}}]}""", 20, null, "input 'features': FP32 [1,6] needs 24 bytes, got 20" },
        { """{"inputs":[{"name":"features","shape":[1,6],"datatype":"FP32","parameters":{"binary_data_size":28}}]}""", 28, null, "input 'features': FP32 [1,6] needs 24 bytes, got 28" },
        // truncated: fewer bytes than declared
        { """{"inputs":[{"name":"features","shape":[1,6],"datatype":"FP32","parameters":{"binary_data_size":24}}]}""", 12, null, "input 'features' declares 24 binary bytes but only 12 remain" },
        // more bytes than declared
        { """{"inputs":[{"name":"features","shape":[1,6],"datatype":"FP32","parameters":{"binary_data_size":24}}]}""", 30, null, "6 bytes follow the last binary input; the inputs' binary_data_size values add up to 24" },
        // the header points past the body, or is not a number
        { """{"inputs":[{"name":"features","shape":[1,6],"datatype":"FP32","parameters":{"binary_data_size":24}}]}""", 24, "99999", "Inference-Header-Content-Length 99999 is past the end of the 125-byte body" },
        { """{"inputs":[{"name":"features","shape":[1,6],"datatype":"FP32","parameters":{"binary_data_size":24}}]}""", 24, "abc", "Inference-Header-Content-Length 'abc' is not a non-negative integer" },
        { """{"inputs":[{"name":"features","shape":[1,6],"datatype":"FP32","parameters":{"binary_data_size":24}}]}""", 24, "-5", "Inference-Header-Content-Length '-5' is not a non-negative integer" },
        { """{"inputs":[{"name":"features","shape":[1,6],"datatype":"FP32","parameters":{"binary_data_size":24}}]}""", 24, "10", "malformed JSON at byte 10" },
        { """{"inputs":[{"name":"features","shape":[1,6],"datatype":"FP32","parameters":{"binary_data_size":24}}]}""", 24, "", "Inference-Header-Content-Length '' is not a non-negative integer" },
        { """{"inputs":[{"name":"features","shape":[1,6],"datatype":"FP32","parameters":{"binary_data_size":-1}}]}""", 24, null, "input 'features': binary_data_size must be a non-negative integer" },
        // a BYTES element's length prefix runs past binary_data_size
        { """{"inputs":[{"name":"fields","shape":[1],"datatype":"BYTES","parameters":{"binary_data_size":24}}]}""", 24, null, "input 'fields': BYTES element 0 declares 1077952576 bytes but only 20 remain" },
    };

    [Theory]
    [MemberData(nameof(BinaryCases))]
    public async Task Bad_binary_requests_get_a_400_naming_the_problem(string header, int tensorBytes, string? headerLength, string named)
    {
        var json = Encoding.UTF8.GetBytes(header);
        var body = new byte[json.Length + tensorBytes];
        json.CopyTo(body, 0);
        body.AsSpan(json.Length).Fill(0x40);
        using var request = Raw(Fraud, body, headerLength ?? json.Length.ToString(System.Globalization.CultureInfo.InvariantCulture));
        using var response = await fixture.Http.SendAsync(request);
        var error = Error(await ReadJsonAsync(response));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(named, error, StringComparison.Ordinal);
        await AssertStillServes();
    }

    [Fact]
    public async Task Deep_nesting_is_400_not_a_stack_overflow()
    {
        var deep = new string('[', 10_000) + new string(']', 10_000);
        var body = $$"""{"inputs":[{"name":"features","shape":[1,6],"datatype":"FP32","data":{{deep}}}]}""";
        var (code, json) = await PostAsync(fixture.Http, Fraud, body);
        Assert.Equal(HttpStatusCode.BadRequest, code);
        Assert.Contains("JSON nests deeper than the limit of 32 levels", Error(json), StringComparison.Ordinal);

        // Unclosed, too.
        (code, json) = await PostAsync(fixture.Http, Fraud, new string('[', 10_000));
        Assert.Equal(HttpStatusCode.BadRequest, code);
        await AssertStillServes();
    }

    [Theory]
    [InlineData("/v2/models/..%2F..%2Fetc/infer")]
    [InlineData("/v2/models/..%2F..%2Fetc%2Fpasswd")]
    [InlineData("/v2/models/%2E%2E/ready")]
    [InlineData("/v2/models/fraud%2F..%2Ffraud/infer")]
    [InlineData("/v2/models/fraud/versions/..%2F1/infer")]
    public async Task Model_names_that_look_like_paths_are_400_or_404_never_an_escape(string path)
    {
        using var request = new HttpRequestMessage(path.EndsWith("/infer", StringComparison.Ordinal) ? HttpMethod.Post : HttpMethod.Get, path);
        if (request.Method == HttpMethod.Post)
        {
            request.Content = Json(FeaturesBody);
        }

        using var response = await fixture.Http.SendAsync(request);
        Assert.Contains(response.StatusCode, new[] { HttpStatusCode.BadRequest, HttpStatusCode.NotFound });
        Error(await ReadJsonAsync(response));
        await AssertStillServes();
    }

    /// <summary>A body whose Content-Length is over the limit is refused before it is read.</summary>
    [Fact]
    public async Task A_body_over_MaxRequestBodyBytes_is_413()
    {
        await using var small = await OwnServer.StartAsync(["fraud"], options => options.MaxRequestBodyBytes = 1024);
        var padding = new string(' ', 4096);
        using (var response = await small.Http.PostAsync(Fraud, Json(FeaturesBody + padding)))
        {
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
            Assert.Equal("request body too large: the body is 4200 bytes; the limit is 1024", Error(await ReadJsonAsync(response)));

            // The rest of the body is never read, so the connection is not reused: the next request gets a new one.
            Assert.True(response.Headers.ConnectionClose);
        }

        // Not asserted here: a chunked body (no Content-Length) over the limit is cut off while reading; Kestrel then
        // answers 413 but aborts the connection mid-upload, so a client may see a reset before it reads the 413.
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, (await PostAsync(small.Http, Fraud, FeaturesBody + padding)).Status);
            Assert.Equal(HttpStatusCode.OK, (await PostAsync(small.Http, Fraud, FeaturesBody)).Status);
        }
    }

    private async Task AssertStillServes()
    {
        var (code, json) = await PostAsync(fixture.Http, Fraud, FeaturesBody);
        Assert.Equal(HttpStatusCode.OK, code);
        Assert.Equal("42", json.GetProperty("id").GetString());
    }
}
