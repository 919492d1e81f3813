using System.Buffers.Binary;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Pronto.Models;

namespace Pronto.Server.Tests.Rest;

/// <summary>Plain-HTTP helpers for the REST tests: what any client of the protocol would do, nothing Pronto-specific.</summary>
internal static class Rest
{
    public const string HeaderLength = "Inference-Header-Content-Length";

    /// <summary>A transaction that looks fraudulent: far from home, at night, many times the customer's usual amount.</summary>
    public const string FraudFields = """{"amount": 912.5, "customer_avg_amount": 40, "merchant_category": 7, "hour": 3, "distance_km": 850, "txn_last_hour": 5}""";

    /// <summary>A fraud request with raw features (the model's own input), Triton docs style.</summary>
    public const string FeaturesBody = """{"id":"42","inputs":[{"name":"features","shape":[1,6],"datatype":"FP32","data":[[912.5,40,7,3,850,5]]}]}""";

    public static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    public static async Task<(HttpStatusCode Status, JsonElement Body)> PostAsync(HttpClient http, string path, string body)
    {
        using var response = await http.PostAsync(path, Json(body));
        return (response.StatusCode, await ReadJsonAsync(response));
    }

    public static async Task<(HttpStatusCode Status, JsonElement Body)> GetAsync(HttpClient http, string path)
    {
        using var response = await http.GetAsync(path);
        return (response.StatusCode, await ReadJsonAsync(response));
    }

    public static async Task<JsonElement> ReadJsonAsync(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        if (text.Length == 0)
        {
            return default;
        }

        using var doc = JsonDocument.Parse(text);
        return doc.RootElement.Clone();
    }

    /// <summary>The protocol's error body, <c>{"error": "..."}</c>; fails when the body is anything else.</summary>
    public static string Error(JsonElement body)
    {
        Assert.Equal(JsonValueKind.Object, body.ValueKind);
        var message = body.GetProperty("error").GetString();
        Assert.False(string.IsNullOrWhiteSpace(message));
        return message!;
    }

    /// <summary>A binary-extension body: the JSON header, then each tensor's bytes, with Inference-Header-Content-Length.</summary>
    public static HttpRequestMessage Binary(string path, string json, params byte[][] tensors)
    {
        var header = Encoding.UTF8.GetBytes(json);
        var body = new byte[header.Length + tensors.Sum(t => t.Length)];
        header.CopyTo(body, 0);
        var offset = header.Length;
        foreach (var t in tensors)
        {
            t.CopyTo(body, offset);
            offset += t.Length;
        }

        return Raw(path, body, header.Length.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    /// <summary>A body of raw bytes with whatever Inference-Header-Content-Length value a test wants to send.</summary>
    public static HttpRequestMessage Raw(string path, byte[] body, string? headerLength)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        if (headerLength is not null)
        {
            request.Headers.TryAddWithoutValidation(HeaderLength, headerLength);
        }

        return request;
    }

    /// <summary>BYTES elements in the binary layout: a 4-byte little-endian length, then the bytes, per element.</summary>
    public static byte[] BytesTensor(params byte[][] elements)
    {
        var result = new byte[elements.Sum(e => 4 + e.Length)];
        var offset = 0;
        foreach (var e in elements)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(result.AsSpan(offset), (uint)e.Length);
            e.CopyTo(result, offset + 4);
            offset += 4 + e.Length;
        }

        return result;
    }

    /// <summary>A binary-extension response split into its JSON header and the bytes of each binary output, by name.</summary>
    public static async Task<(JsonElement Json, Dictionary<string, byte[]> Outputs)> ReadBinaryResponseAsync(HttpResponseMessage response)
    {
        Assert.Equal("application/octet-stream", response.Content.Headers.ContentType?.MediaType);
        var body = await response.Content.ReadAsByteArrayAsync();
        var values = response.Headers.TryGetValues(HeaderLength, out var h) ? h : response.Content.Headers.GetValues(HeaderLength);
        var jsonLength = int.Parse(values.Single(), System.Globalization.CultureInfo.InvariantCulture);
        using var doc = JsonDocument.Parse(body.AsMemory(0, jsonLength));
        var json = doc.RootElement.Clone();
        var outputs = new Dictionary<string, byte[]>();
        var offset = jsonLength;
        foreach (var output in json.GetProperty("outputs").EnumerateArray())
        {
            if (output.TryGetProperty("parameters", out var p) && p.TryGetProperty("binary_data_size", out var size))
            {
                Assert.False(output.TryGetProperty("data", out _));
                var n = size.GetInt32();
                outputs[output.GetProperty("name").GetString()!] = body.AsSpan(offset, n).ToArray();
                offset += n;
            }
        }

        Assert.Equal(body.Length, offset);
        return (json, outputs);
    }

    public static float[] Floats(JsonElement array) => [.. Flatten(array).Select(e => e.GetSingle())];

    public static IEnumerable<JsonElement> Flatten(JsonElement element) =>
        element.ValueKind == JsonValueKind.Array ? element.EnumerateArray().SelectMany(Flatten) : [element];

    public static long[] Shape(JsonElement tensor) => [.. tensor.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64())];
}

/// <summary>A temporary model repository: copies of bundled models and/or tiny models, deleted on dispose.</summary>
internal sealed class TempRepository : IDisposable
{
    public TempRepository(params string[] bundled)
    {
        Root = Directory.CreateTempSubdirectory("pronto-rest-").FullName;
        var zoo = ZooPaths.DefaultRepository();
        BundledRepository.Ensure(zoo);
        foreach (var name in bundled)
        {
            Copy(Path.Combine(zoo, name), Path.Combine(Root, name));
        }
    }

    public string Root { get; }

    public void Dispose() => Directory.Delete(Root, recursive: true);

    private static void Copy(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from))
        {
            File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
        }

        foreach (var dir in Directory.GetDirectories(from))
        {
            Copy(dir, Path.Combine(to, Path.GetFileName(dir)));
        }
    }
}

/// <summary>A server of its own (for tests that count, change state or stop it), with a client, over a temporary repository.</summary>
internal sealed class OwnServer : IAsyncDisposable
{
    private readonly TempRepository? _repository;

    private OwnServer(ProntoServer server, TempRepository? repository)
    {
        Server = server;
        _repository = repository;
        Http = new HttpClient { BaseAddress = server.HttpUri };
    }

    public ProntoServer Server { get; }

    public HttpClient Http { get; }

    /// <summary>A server over copies of <paramref name="bundled"/> models (only those, so start-up is quick).</summary>
    public static async Task<OwnServer> StartAsync(string[] bundled, Action<ProntoServerOptions>? configure = null)
    {
        var repository = new TempRepository(bundled);
        try
        {
            var server = await ServerFixture.StartAsync(options =>
            {
                options.ModelRepository = repository.Root;
                configure?.Invoke(options);
            });
            return new OwnServer(server, repository);
        }
        catch
        {
            repository.Dispose();
            throw;
        }
    }

    /// <summary>A server over the bundled repository itself (read-only use: the models stay on disk as they are).</summary>
    public static async Task<OwnServer> StartOverZooAsync(Action<ProntoServerOptions>? configure = null)
    {
        var zoo = ZooPaths.DefaultRepository();
        BundledRepository.Ensure(zoo);
        var server = await ServerFixture.StartAsync(options =>
        {
            options.ModelRepository = zoo;
            configure?.Invoke(options);
        });
        return new OwnServer(server, null);
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await Server.StopAsync();
        await Server.DisposeAsync();
        _repository?.Dispose();
    }
}
