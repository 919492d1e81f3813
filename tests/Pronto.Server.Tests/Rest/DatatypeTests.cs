using System.Buffers.Binary;
using System.Net;
using System.Text;
using System.Text.Json;
using Pronto.Core.Tensors;
using Pronto.Testing;
using static Pronto.Server.Tests.Rest.Rest;

namespace Pronto.Server.Tests.Rest;

/// <summary>A server over identity models, one per datatype (<c>id_fp32</c>: x [batch,3] -> y).</summary>
public sealed class IdentityServerFixture : IAsyncLifetime
{
    public static readonly DataType[] AllTypes =
        [DataType.Bool, DataType.UInt8, DataType.UInt16, DataType.UInt32, DataType.UInt64, DataType.Int8, DataType.Int16, DataType.Int32, DataType.Int64,
         DataType.FP16, DataType.BF16, DataType.FP32, DataType.FP64, DataType.Bytes];

    private readonly string _root = Directory.CreateTempSubdirectory("pronto-rest-types-").FullName;

    public ProntoServer Server { get; private set; } = null!;

    public HttpClient Http { get; private set; } = null!;

    public static string ModelOf(DataType type) => "id_" + type.ToProtocolName().ToLowerInvariant();

    public async Task InitializeAsync()
    {
        foreach (var type in AllTypes)
        {
            TinyModels.WriteIdentity(_root, ModelOf(type), type, ["batch", 3L]);
        }

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

/// <summary>Every datatype round-trips through a real identity model, as JSON and as binary tensors, byte for byte.</summary>
public sealed class DatatypeTests(IdentityServerFixture fixture) : IClassFixture<IdentityServerFixture>
{
    /// <summary>Six values per JSON-capable type, extremes included, as JSON literals.</summary>
    public static TheoryData<string, string> JsonValues => new()
    {
        { "BOOL", "true,false,true,true,false,false" },
        { "UINT8", "0,1,127,128,254,255" },
        { "UINT16", "0,1,300,32768,65534,65535" },
        { "UINT32", "0,1,70000,2147483648,4294967294,4294967295" },
        { "UINT64", "0,1,4294967296,9223372036854775808,18446744073709551614,18446744073709551615" },
        { "INT8", "-128,-1,0,1,100,127" },
        { "INT16", "-32768,-1,0,1,30000,32767" },
        { "INT32", "-2147483648,-1,0,1,2000000000,2147483647" },
        { "INT64", "-9223372036854775808,-1,0,1,4294967296,9223372036854775807" },
        { "FP32", "-3.4028235E+38,-1.5,0,1.17549435E-38,0.1,3.4028235E+38" },
        { "FP64", "-1.7976931348623157E+308,-1.5,0,5E-324,0.1,1.7976931348623157E+308" },
        { "BYTES", "\"\",\"a\",\"héllo wörld\",\"日本語\",\"emoji 🚀\",\"quote \\\" and \\\\ backslash\"" },
    };

    [Theory]
    [MemberData(nameof(JsonValues))]
    public async Task Json_round_trips_every_json_datatype(string datatype, string values)
    {
        var type = Enum.GetValues<DataType>().Single(t => t.ToProtocolName() == datatype);
        var body = $$"""{"id":"rt-{{datatype}}","inputs":[{"name":"x","shape":[2,3],"datatype":"{{datatype}}","data":[{{values}}]}]}""";
        var (status, json) = await PostAsync(fixture.Http, $"/v2/models/{IdentityServerFixture.ModelOf(type)}/infer", body);
        Assert.True(status == HttpStatusCode.OK, json.ToString());
        Assert.Equal($"rt-{datatype}", json.GetProperty("id").GetString());
        var output = Assert.Single(json.GetProperty("outputs").EnumerateArray());
        Assert.Equal("y", output.GetProperty("name").GetString());
        Assert.Equal(datatype, output.GetProperty("datatype").GetString());
        Assert.Equal([2L, 3], Shape(output));
        using var expected = JsonDocument.Parse($"[{values}]");
        var sent = expected.RootElement.EnumerateArray().ToArray();
        var got = Flatten(output.GetProperty("data")).ToArray();
        Assert.Equal(sent.Length, got.Length);
        for (var i = 0; i < sent.Length; i++)
        {
            Assert.Equal(sent[i].ValueKind, got[i].ValueKind);
            switch (datatype)
            {
                case "BOOL":
                    Assert.Equal(sent[i].GetBoolean(), got[i].GetBoolean());
                    break;
                case "BYTES":
                    Assert.Equal(sent[i].GetString(), got[i].GetString());
                    break;
                case "UINT64":
                    Assert.Equal(sent[i].GetUInt64(), got[i].GetUInt64());
                    break;
                case "FP32":
                    Assert.Equal(sent[i].GetSingle(), got[i].GetSingle());
                    break;
                case "FP64":
                    Assert.Equal(sent[i].GetDouble(), got[i].GetDouble());
                    break;
                default:
                    Assert.Equal(sent[i].GetInt64(), got[i].GetInt64());
                    break;
            }
        }
    }

    [Theory]
    [InlineData("FP16")]
    [InlineData("BF16")]
    public async Task Half_precision_has_no_json_form(string datatype)
    {
        var body = $$"""{"inputs":[{"name":"x","shape":[1,3],"datatype":"{{datatype}}","data":[1,2,3]}]}""";
        var (status, json) = await PostAsync(fixture.Http, $"/v2/models/id_{datatype.ToLowerInvariant()}/infer", body);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal($"input 'x': {datatype} has no JSON form; send it as a binary tensor (parameters.binary_data_size)", Error(json));
    }

    public static TheoryData<DataType> AllTypes => [.. IdentityServerFixture.AllTypes];

    [Theory]
    [MemberData(nameof(AllTypes))]
    public async Task Binary_round_trips_every_datatype_byte_for_byte(DataType type)
    {
        var raw = RawSample(type);
        var datatype = type.ToProtocolName();
        var json = $$$"""{"id":"bin","inputs":[{"name":"x","shape":[2,3],"datatype":"{{{datatype}}}","parameters":{"binary_data_size":{{{raw.Length}}}}}],"parameters":{"binary_data_output":true}}""";
        using var request = Binary($"/v2/models/{IdentityServerFixture.ModelOf(type)}/infer", json, raw);
        using var response = await fixture.Http.SendAsync(request);
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        var (header, outputs) = await ReadBinaryResponseAsync(response);
        Assert.Equal("bin", header.GetProperty("id").GetString());
        var output = Assert.Single(header.GetProperty("outputs").EnumerateArray());
        Assert.Equal(datatype, output.GetProperty("datatype").GetString());
        Assert.Equal([2L, 3], Shape(output));
        Assert.Equal(raw.Length, output.GetProperty("parameters").GetProperty("binary_data_size").GetInt32());
        Assert.Equal(raw, outputs["y"]);
    }

    [Fact]
    public async Task Binary_input_with_a_json_output_and_json_input_with_a_binary_output()
    {
        var raw = RawSample(DataType.Int32);
        var json = $$$"""{"inputs":[{"name":"x","shape":[2,3],"datatype":"INT32","parameters":{"binary_data_size":{{{raw.Length}}}}}]}""";
        using (var request = Binary("/v2/models/id_int32/infer", json, raw))
        using (var response = await fixture.Http.SendAsync(request))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
            var output = (await ReadJsonAsync(response)).GetProperty("outputs")[0];
            var expected = new int[6];
            Buffer.BlockCopy(raw, 0, expected, 0, raw.Length);
            Assert.Equal(expected, Flatten(output.GetProperty("data")).Select(e => e.GetInt32()));
        }

        // The output's own binary_data asks for it, without binary_data_output.
        var body = """{"inputs":[{"name":"x","shape":[1,3],"datatype":"INT16","data":[-2,0,513]}],"outputs":[{"name":"y","parameters":{"binary_data":true}}]}""";
        using (var response = await fixture.Http.PostAsync("/v2/models/id_int16/infer", Json(body)))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var (_, outputs) = await ReadBinaryResponseAsync(response);
            Assert.Equal(new byte[] { 0xFE, 0xFF, 0, 0, 1, 2 }, outputs["y"]);
        }
    }

    [Fact]
    public async Task An_output_asked_by_name_with_binary_false_stays_json_despite_binary_data_output()
    {
        var body = """{"inputs":[{"name":"x","shape":[1,3],"datatype":"UINT8","data":[1,2,3]}],"outputs":[{"name":"y","parameters":{"binary_data":false}}],"parameters":{"binary_data_output":true}}""";
        var (status, json) = await PostAsync(fixture.Http, "/v2/models/id_uint8/infer", body);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal([1, 2, 3], Flatten(json.GetProperty("outputs")[0].GetProperty("data")).Select(e => e.GetInt32()));
    }

    /// <summary>Six elements of <paramref name="type"/> in the binary layout, extremes included.</summary>
    private static byte[] RawSample(DataType type)
    {
        if (type == DataType.Bytes)
        {
            return BytesTensor([], "a"u8.ToArray(), Encoding.UTF8.GetBytes("héllo"), [0, 255, 1], new byte[300], "🚀"u8.ToArray());
        }

        if (type == DataType.Bool)
        {
            return [1, 0, 0, 1, 1, 0];
        }

        var size = type switch
        {
            DataType.UInt8 or DataType.Int8 => 1,
            DataType.UInt16 or DataType.Int16 or DataType.FP16 or DataType.BF16 => 2,
            DataType.UInt32 or DataType.Int32 or DataType.FP32 => 4,
            _ => 8,
        };
        var bytes = new byte[6 * size];
        for (var i = 0; i < bytes.Length; i++)
        {
            bytes[i] = (byte)((i * 37) + 11);
        }

        // Finite, non-NaN floating values so any canonicalization would show: FP16 1.5 / -65504, BF16 1.0 / -2.0, FP32 max, FP64 0.1.
        switch (type)
        {
            case DataType.FP16:
                BinaryPrimitives.WriteHalfLittleEndian(bytes, (Half)1.5f);
                BinaryPrimitives.WriteHalfLittleEndian(bytes.AsSpan(2), Half.MinValue);
                for (var i = 2; i < 6; i++)
                {
                    BinaryPrimitives.WriteHalfLittleEndian(bytes.AsSpan(2 * i), (Half)(i * 0.25f));
                }

                break;
            case DataType.BF16:
                ushort[] bf = [0x3F80, 0xC000, 0x0000, 0x8000, 0x7F7F, 0x3DCD];
                for (var i = 0; i < 6; i++)
                {
                    BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(2 * i), bf[i]);
                }

                break;
            case DataType.FP32:
                float[] f = [float.MaxValue, -1.5f, 0f, float.Epsilon, 0.1f, -0f];
                Buffer.BlockCopy(f, 0, bytes, 0, bytes.Length);
                break;
            case DataType.FP64:
                double[] d = [double.MaxValue, -1.5, 0, double.Epsilon, 0.1, -0.0];
                Buffer.BlockCopy(d, 0, bytes, 0, bytes.Length);
                break;
        }

        return bytes;
    }
}
