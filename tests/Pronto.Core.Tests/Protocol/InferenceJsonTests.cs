using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Pronto.Core.Errors;
using Pronto.Core.Inference;
using Pronto.Core.Protocol;
using Pronto.Core.Tensors;
using Xunit;

namespace Pronto.Core.Tests.Protocol;

public sealed class InferenceJsonTests
{
    // ---- reading: datatypes ----

    [Fact]
    public void Bool_ReadsExactly()
    {
        var t = ReadOne("BOOL", "[3]", "[true,false,true]");
        Assert.Equal(DataType.Bool, t.DataType);
        Assert.Equal([true, false, true], t.ToArray<bool>());
    }

    [Fact]
    public void UnsignedIntegers_ReadFullRange()
    {
        Assert.Equal([0, 255], ReadOne("UINT8", "[2]", "[0,255]").ToArray<byte>());
        Assert.Equal([0, 65535], ReadOne("UINT16", "[2]", "[0,65535]").ToArray<ushort>());
        Assert.Equal([0u, 4294967295u], ReadOne("UINT32", "[2]", "[0,4294967295]").ToArray<uint>());
        Assert.Equal([0ul, ulong.MaxValue], ReadOne("UINT64", "[2]", "[0,18446744073709551615]").ToArray<ulong>());
    }

    [Fact]
    public void SignedIntegers_ReadFullRange()
    {
        Assert.Equal([-128, 0, 127], ReadOne("INT8", "[3]", "[-128,0,127]").ToArray<sbyte>());
        Assert.Equal([-32768, 32767], ReadOne("INT16", "[2]", "[-32768,32767]").ToArray<short>());
        Assert.Equal([int.MinValue, -0, int.MaxValue], ReadOne("INT32", "[3]", "[-2147483648,-0,2147483647]").ToArray<int>());
        Assert.Equal([long.MinValue, long.MaxValue], ReadOne("INT64", "[2]", "[-9223372036854775808,9223372036854775807]").ToArray<long>());
        Assert.Equal(DataType.Int64, ReadOne("INT64", "[2]", "[1,2]").DataType);
    }

    [Fact]
    public void FP32_ReadsNearestFloatAndNamedNonFinites()
    {
        var t = ReadOne("FP32", "[8]", """[0.1, -1.5, 3.4028235e38, 1e-45, 1E2, "NaN", "Infinity", "-Infinity"]""");
        Assert.Equal(DataType.FP32, t.DataType);
        float[] expected = [0.1f, -1.5f, float.MaxValue, float.Epsilon, 100f, float.NaN, float.PositiveInfinity, float.NegativeInfinity];
        Assert.Equal(Bits(expected), Bits(t.ToArray<float>()));
    }

    [Fact]
    public void FP64_ReadsNearestDoubleAndNamedNonFinites()
    {
        var t = ReadOne("FP64", "[6]", """[0.1, 1.7976931348623157e308, 5e-324, -2, "NaN", "-Infinity"]""");
        double[] expected = [0.1, double.MaxValue, double.Epsilon, -2, double.NaN, double.NegativeInfinity];
        Assert.Equal(
            Array.ConvertAll(expected, BitConverter.DoubleToInt64Bits),
            Array.ConvertAll(t.ToArray<double>(), BitConverter.DoubleToInt64Bits));
    }

    [Fact]
    public void Bytes_NonAsciiAndEscapes_AreUtf8()
    {
        var t = ReadOne("BYTES", "[6]", """["é", "日本", "😀", "", "\u00e9\ud83d\ude00", "a\"b\\c\n"]""");
        Assert.Equal(DataType.Bytes, t.DataType);
        Assert.Equal(["é", "日本", "😀", "", "é😀", "a\"b\\c\n"], Enumerable.Range(0, 6).Select(t.GetString));
        Assert.Equal([0xC3, 0xA9], t.Strings[0].ToArray());
        Assert.Equal([0xF0, 0x9F, 0x98, 0x80], t.Strings[2].ToArray());
    }

    [Fact]
    public void Bytes_FromMemory_UnescapedStringsAreSlicesOfTheBody()
    {
        var body = Encoding.UTF8.GetBytes("""{"inputs":[{"name":"x","shape":[2],"datatype":"BYTES","data":["日本","a\u0062"]}]}""");
        var t = InferenceJson.ReadRequest(body, body.Length, "m", null).Request.Inputs[0].Tensor;

        Assert.True(MemoryMarshal.TryGetArray(t.Strings[0], out var slice));
        Assert.Same(body, slice.Array);
        Assert.Equal(body.AsSpan().IndexOf("日本"u8), slice.Offset);
        Assert.Equal(6, slice.Count);
        Assert.Equal("日本", t.GetString(0));
        Assert.Equal("ab", t.GetString(1)); // escaped: unescaped into its own buffer
        Assert.True(MemoryMarshal.TryGetArray(t.Strings[1], out var copied));
        Assert.NotSame(body, copied.Array);
    }

    [Fact]
    public void Bytes_FromSpan_AreCopies()
    {
        var body = Encoding.UTF8.GetBytes(Input("BYTES", "[1]", """["abc"]"""));
        var t = InferenceJson.ReadRequest(body.AsSpan(), "m", null).Request.Inputs[0].Tensor;
        Assert.True(MemoryMarshal.TryGetArray(t.Strings[0], out var segment));
        Assert.NotSame(body, segment.Array);
        Assert.Equal("abc", t.GetString(0));
    }

    // ---- reading: shapes and nesting ----

    [Fact]
    public void NestedAndFlatData_GiveIdenticalTensors()
    {
        var flat = ReadOne("INT32", "[2,3]", "[1,2,3,4,5,6]");
        var nested = ReadOne("INT32", "[2,3]", "[[1,2,3],[4,5,6]]");
        var ragged = ReadOne("INT32", "[2,3]", "[[1],[2,[3,4]],5,[[[6]]]]"); // nesting is flattened, only the count must match

        foreach (var t in new[] { nested, ragged })
        {
            Assert.Equal(flat.Shape.ToArray(), t.Shape.ToArray());
            Assert.Equal(flat.Data.ToArray(), t.Data.ToArray());
        }

        Assert.Equal([2L, 3L], flat.Shape.ToArray());
        Assert.Equal([1, 2, 3, 4, 5, 6], flat.ToArray<int>());
    }

    [Theory]
    [InlineData("[5]")]
    [InlineData("5")]
    [InlineData("[[5]]")]
    public void RankZeroScalar_TakesBracketedOrBareValue(string data)
    {
        var t = ReadOne("INT64", "[]", data);
        Assert.Equal(0, t.Rank);
        Assert.Equal(1, t.ElementCount);
        Assert.Equal([5L], t.ToArray<long>());
    }

    [Theory]
    [InlineData("FP32", "[0,3]", "[]")]
    [InlineData("FP32", "[0,3]", "[[]]")]
    [InlineData("BYTES", "[2,0]", "[]")]
    public void ZeroElementTensor(string datatype, string shape, string data)
    {
        var t = ReadOne(datatype, shape, data);
        Assert.Equal(0, t.ElementCount);
        Assert.Equal(0, t.ByteSize);
        Assert.Equal(2, t.Rank);
    }

    [Fact]
    public void FieldsInAnyOrder_DataBeforeShapeAndDatatype()
    {
        var r = Read("""{"inputs":[{"data":[[1.5],[2.5]],"parameters":{"content":"x"},"datatype":"FP32","shape":[2,1],"name":"x"}],"id":"7"}""");
        var t = r.Request.Inputs[0].Tensor;
        Assert.Equal("x", r.Request.Inputs[0].Name);
        Assert.Equal([2L, 1L], t.Shape.ToArray());
        Assert.Equal([1.5f, 2.5f], t.ToArray<float>());
        Assert.Equal("7", r.Request.Id);
    }

    // ---- reading: the envelope ----

    [Fact]
    public void DesignExample_ReadsAsDocumented()
    {
        // DESIGN.md's example, verbatim but for its "{...}" placeholders, which are not JSON: they are "{}" here.
        const string Body = """
            {"id":"42","parameters":{},
             "inputs":[{"name":"input0","shape":[2,2],"datatype":"UINT32","parameters":{},"data":[1,2,3,4]}],
             "outputs":[{"name":"output0","parameters":{"binary_data":true,"classification":3}}]}
            """;
        var parsed = InferenceJson.ReadRequest(Encoding.UTF8.GetBytes(Body), "m", "2");
        var request = parsed.Request;

        Assert.Equal("m", request.ModelName);
        Assert.Equal("2", request.ModelVersion);
        Assert.Equal("42", request.Id);
        Assert.Empty(request.Parameters);
        var input = Assert.Single(request.Inputs);
        Assert.Equal("input0", input.Name);
        Assert.Equal(DataType.UInt32, input.Tensor.DataType);
        Assert.Equal([2L, 2L], input.Tensor.Shape.ToArray());
        Assert.Equal([1u, 2u, 3u, 4u], input.Tensor.ToArray<uint>());
        Assert.Equal([new RequestedOutput("output0", 3, true)], request.Outputs);
        Assert.False(parsed.BinaryDataOutput);
    }

    [Fact]
    public void Id_IsEchoedAndOptional()
    {
        Assert.Equal("req-1", Read("""{"id":"req-1","inputs":[]}""").Request.Id);
        Assert.Null(Read("""{"inputs":[]}""").Request.Id);
    }

    [Fact]
    public void Parameters_OfEveryKind()
    {
        var p = Read("""
            {"parameters":{"t":true,"f":false,"i":-7,"big":18446744073709551615,"d":1.5,"e":1e3,"s":"text","priority":2,"timeout":100000},
             "inputs":[],"unknown":{"ignored":[1,{"deep":true}]}}
            """).Request.Parameters;

        Assert.Equal(9, p.Count);
        Assert.Equal(true, p["t"]);
        Assert.Equal(false, p["f"]);
        Assert.Equal(-7L, p["i"]);
        Assert.Equal(18446744073709551615d, p["big"]); // past long: a double
        Assert.Equal(1.5d, p["d"]);
        Assert.Equal(1000d, p["e"]);
        Assert.Equal("text", p["s"]);
        Assert.Equal(2L, p["priority"]);
        Assert.Equal(100000L, p["timeout"]);
    }

    [Fact]
    public void Outputs_ClassificationAndBinaryData()
    {
        var r = Read("""
            {"inputs":[],"outputs":[{"name":"a"},{"name":"b","parameters":{"classification":5}},{"name":"c","parameters":{"binary_data":true}},
             {"name":"d","parameters":{"binary_data":false,"classification":1,"other":"x"}}]}
            """);
        Assert.Equal(
            [new RequestedOutput("a"), new RequestedOutput("b", 5), new RequestedOutput("c", 0, true), new RequestedOutput("d", 1, false)],
            r.Request.Outputs);
        Assert.False(r.BinaryDataOutput);
    }

    [Fact]
    public void BinaryDataOutput_AppliesToOutputsThatDoNotSay()
    {
        var r = Read("""
            {"parameters":{"binary_data_output":true},"inputs":[],
             "outputs":[{"name":"a"},{"name":"b","parameters":{"binary_data":false}}]}
            """);
        Assert.True(r.BinaryDataOutput);
        Assert.Equal([new RequestedOutput("a", 0, true), new RequestedOutput("b", 0, false)], r.Request.Outputs);

        var response = Response(("a", Tensor.Create([1f], 1)), ("b", Tensor.Create([2f], 1)));
        Assert.Equal(["a"], InferenceJson.BinaryOutputs(r, response));
    }

    [Fact]
    public void BinaryDataOutput_WithNoOutputsListed_MakesEveryResponseOutputBinary()
    {
        var r = Read("""{"parameters":{"binary_data_output":true},"inputs":[]}""");
        Assert.True(r.BinaryDataOutput);
        Assert.Empty(r.Request.Outputs);
        var response = Response(("a", Tensor.Create([1f], 1)), ("b", Tensor.Create([2f], 1)));
        Assert.Equal(["a", "b"], InferenceJson.BinaryOutputs(r, response).Order());

        Assert.Empty(InferenceJson.BinaryOutputs(Read("""{"inputs":[]}"""), response));
    }

    [Fact]
    public void MultipleInputs_KeepOrder()
    {
        var r = Read("""
            {"inputs":[{"name":"a","shape":[1],"datatype":"INT32","data":[1]},
                       {"name":"b","shape":[2],"datatype":"BOOL","data":[false,true]}]}
            """).Request;
        Assert.Equal(["a", "b"], r.Inputs.Select(i => i.Name));
        Assert.Equal([false, true], r.Inputs[1].Tensor.ToArray<bool>());
    }

    // ---- reading: the binary tensor extension ----

    [Fact]
    public void Binary_TwoInputs_AreSlicedNotCopied()
    {
        var json = Encoding.UTF8.GetBytes("""
            {"inputs":[{"name":"f","shape":[2,3],"datatype":"FP32","parameters":{"binary_data_size":24}},
                       {"name":"j","shape":[1],"datatype":"INT32","data":[9]},
                       {"name":"s","shape":[2],"datatype":"BYTES","parameters":{"binary_data_size":16}}]}
            """);
        float[] floats = [1f, -2f, 0.5f, float.NaN, 3e38f, -0f];
        var body = Concat(json, MemoryMarshal.AsBytes(floats.AsSpan()).ToArray(), LengthPrefixed("ab", "日本"));

        var inputs = InferenceJson.ReadRequest(body, json.Length, "m", null).Request.Inputs;

        var f = inputs[0].Tensor;
        Assert.Equal(Bits(floats), Bits(f.ToArray<float>()));
        Assert.True(MemoryMarshal.TryGetArray(f.Data, out var fSegment));
        Assert.Same(body, fSegment.Array);
        Assert.Equal(json.Length, fSegment.Offset);
        Assert.Equal(24, fSegment.Count);

        Assert.Equal([9], inputs[1].Tensor.ToArray<int>());

        var s = inputs[2].Tensor;
        Assert.Equal("ab", s.GetString(0));
        Assert.Equal("日本", s.GetString(1));
        Assert.True(MemoryMarshal.TryGetArray(s.Strings[1], out var sSegment));
        Assert.Same(body, sSegment.Array);
        Assert.Equal(json.Length + 24 + 4 + 2 + 4, sSegment.Offset);
        Assert.Equal(6, sSegment.Count);
    }

    [Fact]
    public void Binary_FP16AndBF16_AreAllowed()
    {
        var json = Encoding.UTF8.GetBytes("""
            {"inputs":[{"name":"h","shape":[2],"datatype":"FP16","parameters":{"binary_data_size":4}},
                       {"name":"b","shape":[1],"datatype":"BF16","parameters":{"binary_data_size":2}}]}
            """);
        Half[] halves = [(Half)1.5, (Half)(-2)];
        var body = Concat(json, MemoryMarshal.AsBytes(halves.AsSpan()).ToArray(), [0x80, 0x3F]);

        var inputs = InferenceJson.ReadRequest(body, json.Length, "m", null).Request.Inputs;
        Assert.Equal(halves, inputs[0].Tensor.ToArray<Half>());
        Assert.Equal(DataType.BF16, inputs[1].Tensor.DataType);
        Assert.Equal([(ushort)0x3F80], inputs[1].Tensor.ToArray<ushort>());
    }

    [Fact]
    public void Binary_JsonOnlyBodyThroughMemoryOverload()
    {
        var body = Encoding.UTF8.GetBytes(Input("INT8", "[2]", "[-1,1]"));
        Assert.Equal([-1, 1], InferenceJson.ReadRequest(body, body.Length, "m", null).Request.Inputs[0].Tensor.ToArray<sbyte>());
    }

    // ---- reading: errors ----

    [Theory]
    [InlineData("INT32", "[2,3]", "[1,2,3,4,5]", "input 'x': shape [2,3] needs 6 elements, 'data' has 5")]
    [InlineData("INT32", "[2]", "[[1,2],[3]]", "input 'x': shape [2] needs 2 elements, 'data' has 3")]
    [InlineData("INT32", "[]", "[]", "input 'x': shape [] needs 1 elements, 'data' has 0")]
    [InlineData("UINT8", "[4]", "[0,1,2,256]", "input 'x' element 3: 256 is not a UINT8 (an integer in 0..255)")]
    [InlineData("UINT8", "[1]", "[-1]", "input 'x' element 0: -1 is not a UINT8")]
    [InlineData("UINT64", "[1]", "[18446744073709551616]", "element 0: 18446744073709551616 is not a UINT64")]
    [InlineData("INT8", "[1]", "[128]", "element 0: 128 is not an INT8 (an integer in -128..127)")]
    [InlineData("INT32", "[2]", "[1,1.5]", "input 'x' element 1: 1.5 is not an INT32")]
    [InlineData("INT32", "[1]", "[1.0]", "element 0: 1.0 is not an INT32")]
    [InlineData("INT64", "[1]", "[1e3]", "element 0: 1e3 is not an INT64")]
    [InlineData("INT32", "[1]", "[\"1\"]", "element 0: \"1\" is not an INT32")]
    [InlineData("FP32", "[2]", "[1,\"x\"]", "input 'x' element 1: \"x\" is not an FP32")]
    [InlineData("FP32", "[1]", "[\"nan\"]", "element 0: \"nan\" is not an FP32")]
    [InlineData("FP32", "[1]", "[1e39]", "element 0: 1e39 is not an FP32")]
    [InlineData("FP64", "[1]", "[null]", "element 0: null is not an FP64")]
    [InlineData("BOOL", "[1]", "[1]", "element 0: 1 is not a BOOL (true or false)")]
    [InlineData("BYTES", "[1]", "[1]", "element 0: 1 is not a BYTES element (a JSON string)")]
    [InlineData("BYTES", "[1]", "[\"\\ud800\"]", "element 0: \"\\ud800\" is not a BYTES element")]
    [InlineData("INT32", "[1]", "[{\"a\":1}]", "input 'x' element 0: 'data' holds an object")]
    [InlineData("INT32", "[1]", "[1,{\"a\":[1,2]}]", "input 'x' element 1: 'data' holds an object")]
    [InlineData("INT32", "[1]", "{\"a\":1}", "input 'x' element 0: 'data' holds an object")]
    [InlineData("FP16", "[1]", "[1]", "input 'x': FP16 has no JSON form; send it as a binary tensor")]
    [InlineData("BF16", "[1]", "[1]", "input 'x': BF16 has no JSON form; send it as a binary tensor")]
    [InlineData("FLOAT32", "[1]", "[1]", "input 'x': unknown datatype 'FLOAT32'; valid datatypes are BOOL, UINT8, UINT16, UINT32, UINT64, INT8, INT16, INT32, INT64, FP16, FP32, FP64, BYTES, BF16")]
    [InlineData("fp32", "[1]", "[1]", "unknown datatype 'fp32'")]
    [InlineData("INT32", "[2,-1]", "[1,2]", "input 'x': shape [2,-1] has a negative dimension")]
    [InlineData("INT32", "[1.5]", "[1]", "input 'x': 'shape' must be an array of integers, got 1.5")]
    [InlineData("INT32", "3", "[1,2,3]", "input 'x': 'shape' must be an array of integers")]
    [InlineData("INT32", "[4294967296,4294967296,4294967296]", "[1]", "shape [4294967296,4294967296,4294967296] has too many elements")]
    public void BadData_IsInvalidArgument(string datatype, string shape, string data, string message)
    {
        AssertInvalid(() => Read(Input(datatype, shape, data)), message);
    }

    [Theory]
    [InlineData("""{"inputs":[{"shape":[1],"datatype":"INT32","data":[1]}]}""", "inputs[0] is missing 'name'")]
    [InlineData("""{"inputs":[{"name":"x","datatype":"INT32","data":[1]}]}""", "input 'x' is missing 'shape'")]
    [InlineData("""{"inputs":[{"name":"x","shape":[1],"data":[1]}]}""", "input 'x' is missing 'datatype'")]
    [InlineData("""{"inputs":[{"name":"x","shape":[1],"datatype":"INT32"}]}""", "input 'x' has no 'data' (nor a binary_data_size parameter)")]
    [InlineData("""{"inputs":[{"name":"x","shape":[1],"datatype":"INT32","data":[1],"data":[2]}]}""", "input 'x' has 'data' twice")]
    [InlineData("""{"inputs":[{"name":7,"shape":[1],"datatype":"INT32","data":[1]}]}""", "inputs[0]: 'name' must be a string")]
    [InlineData("""{"id":"1"}""", "the request has no 'inputs'")]
    [InlineData("""{"inputs":[],"inputs":[]}""", "the request has 'inputs' twice")]
    [InlineData("""{"inputs":{}}""", "'inputs' must be an array of objects")]
    [InlineData("""{"inputs":[1]}""", "'inputs' must be an array of objects")]
    [InlineData("""[1,2]""", "the request body must be a JSON object")]
    [InlineData("""{"id":42,"inputs":[]}""", "'id' must be a string")]
    [InlineData("""{"parameters":[],"inputs":[]}""", "the request: 'parameters' must be an object")]
    [InlineData("""{"parameters":{"a":[1]},"inputs":[]}""", "the request: parameter 'a' must be a boolean, a finite number or a string, got an array")]
    [InlineData("""{"parameters":{"a":null},"inputs":[]}""", "parameter 'a' must be a boolean, a finite number or a string, got null")]
    [InlineData("""{"parameters":{"binary_data_output":1},"inputs":[]}""", "parameter 'binary_data_output' must be true or false")]
    [InlineData("""{"inputs":[],"outputs":[{"parameters":{}}]}""", "outputs[0] is missing 'name'")]
    [InlineData("""{"inputs":[],"outputs":[{"name":"o","parameters":{"classification":-1}}]}""", "output 'o': classification must be a non-negative integer")]
    [InlineData("""{"inputs":[],"outputs":[{"name":"o","parameters":{"classification":2.5}}]}""", "output 'o': classification must be a non-negative integer")]
    [InlineData("""{"inputs":[],"outputs":[{"name":"o","parameters":{"binary_data":"yes"}}]}""", "output 'o': binary_data must be true or false")]
    [InlineData("""{"inputs":[{"name":"x","shape":[1],"datatype":"INT32","parameters":{"binary_data_size":-4}}]}""", "input 'x': binary_data_size must be a non-negative integer")]
    [InlineData("""{"inputs":[{"name":"x","shape":[1],"datatype":"INT32","data":[1],"parameters":{"binary_data_size":4}}]}""", "input 'x' has both 'data' and binary_data_size")]
    [InlineData("""{"inputs":[{"name":"x","shape":[1],"datatype":"INT32","parameters":{"binary_data_size":4}}]}""", "input 'x' declares binary_data_size but the request has no binary part")]
    public void BadEnvelope_IsInvalidArgument(string json, string message)
    {
        AssertInvalid(() => Read(json), message);
    }

    [Theory]
    [InlineData("""{"inputs":[}""", "malformed JSON at byte 11: ")]
    [InlineData("""{"inputs":[]} x""", "malformed JSON at byte 14: ")]
    [InlineData("""{"inputs":[]}{}""", "malformed JSON at byte 13: ")]
    [InlineData("""{"inputs":[]""", "malformed JSON at byte 12: ")]
    [InlineData("""{"inputs":[],}""", "malformed JSON at byte 13: ")]
    [InlineData("""{'inputs':[]}""", "malformed JSON at byte 1: ")]
    [InlineData("{\n  \"inputs\": [\n    nope]}", "malformed JSON at byte 21: ")]
    [InlineData("{   \"inputs\": [     nope]}", "malformed JSON at byte 21: ")] // the same bytes on one line
    [InlineData("", "malformed JSON at byte 0: ")]
    [InlineData("""{"parameters":{"\ud800":1},"inputs":[]}""", "malformed JSON at byte 15: ")]
    public void MalformedJson_ReportsTheByte(string json, string message)
    {
        AssertInvalid(() => Read(json), message);
    }

    [Fact]
    public void NestingFarPastTheLimit_IsAnErrorNotACrash()
    {
        const int Depth = 10_000;
        var data = new string('[', Depth) + "1" + new string(']', Depth);
        AssertInvalid(() => Read(Input("INT32", "[1]", data)), "JSON nests deeper than the limit of 32 levels at byte ");

        // Data before the shape takes the deferred path, which skips the data first.
        var deferred = $$"""{"inputs":[{"data":{{data}},"name":"x","shape":[1],"datatype":"INT32"}]}""";
        AssertInvalid(() => Read(deferred), "JSON nests deeper than the limit of 32 levels");

        // Unbalanced: only opening brackets.
        AssertInvalid(() => Read(Input("INT32", "[1]", new string('[', Depth))), "JSON nests deeper than the limit of 32 levels");
        AssertInvalid(() => Read("""{"x":""" + new string('[', Depth)), "JSON nests deeper than the limit of 32 levels");
    }

    [Fact]
    public void MaxDepth_CountsTheEnvelope()
    {
        // The request object, inputs, the input object and data are 4 levels: rank-3 nesting needs 6.
        var limits = new JsonLimits { MaxDepth = 6 };
        Assert.Equal([1, 2], ReadOne("INT32", "[2,1,1]", "[[[1]],[[2]]]", limits).ToArray<int>());
        AssertInvalid(() => Read(Input("INT32", "[2,1,1,1]", "[[[[1]]],[[[2]]]]"), limits), "JSON nests deeper than the limit of 6 levels at byte ");
        AssertInvalid(() => Read(Input("INT32", "[2,1,1,1]", "[[[1,[2]]]]"), limits), "JSON nests deeper than the limit of 6 levels at byte ");
        AssertInvalid(() => Read("""{"inputs":[],"x":{"a":{"b":{"c":{"d":{"e":{}}}}}}}""", limits), "JSON nests deeper than the limit of 6 levels at byte 42");

        // Malformed JSON at the deepest level allowed, or truncated there, is malformed, not too deep.
        AssertInvalid(() => Read(Input("INT32", "[2,1,1]", "[[[1,x]]]"), limits), "malformed JSON at byte ");
        AssertInvalid(() => Read(Input("INT32", "[2,1,1]", "[[[1,"), limits), "malformed JSON at byte ");
        AssertInvalid(() => Read(Input("INT32", "[2,1,1]", "[[[x"), limits), "malformed JSON at byte ");
    }

    [Fact]
    public void ElementLimits()
    {
        AssertInvalid(
            () => Read(Input("INT32", "[5]", "[1,2,3,4,5]"), new JsonLimits { MaxTensorElements = 4 }),
            "input 'x' has 5 elements, more than the limit of 4 for a JSON tensor");
        AssertInvalid(
            () => Read(Input("INT32", "[16777217]", "[1]")),
            "input 'x' has 16777217 elements, more than the limit of 16777216 for a JSON tensor");

        const string Two = """
            {"inputs":[{"name":"a","shape":[3],"datatype":"INT32","data":[1,2,3]},{"name":"b","shape":[3],"datatype":"INT32","data":[1,2,3]}]}
            """;
        Assert.Equal(2, Read(Two, new JsonLimits { MaxTotalElements = 6 }).Request.Inputs.Count);
        AssertInvalid(() => Read(Two, new JsonLimits { MaxTotalElements = 5 }), "the request's JSON inputs have 6 elements, more than the limit of 5");
        AssertInvalid(() => Read(Two, new JsonLimits { MaxInputs = 1 }), "the request has more than 1 inputs");
        AssertInvalid(() => Read("""{"inputs":[],"outputs":[{"name":"a"},{"name":"b"}]}""", new JsonLimits { MaxOutputs = 1 }), "the request has more than 1 outputs");
        AssertInvalid(() => Read(Input("INT32", "[1,1,1]", "[1]"), new JsonLimits { MaxRank = 2 }), "input 'x': 'shape' has more than 2 dimensions");
    }

    [Fact]
    public void HugeDeclaredShape_WithLittleData_DoesNotAllocateForTheShape()
    {
        var json = Encoding.UTF8.GetBytes(Input("FP64", "[16000000]", "[1]"));
        var before = GC.GetAllocatedBytesForCurrentThread();
        AssertInvalid(() => InferenceJson.ReadRequest(json, "m", null), "input 'x': shape [16000000] needs 16000000 elements, 'data' has 1");
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 1_000_000); // not 128 MB of doubles
    }

    [Fact]
    public void Binary_Errors()
    {
        var fp32 = Encoding.UTF8.GetBytes("""{"inputs":[{"name":"x","shape":[2,3],"datatype":"FP32","parameters":{"binary_data_size":40000}}]}""");
        AssertInvalid(() => InferenceJson.ReadRequest(Concat(fp32, new byte[1200]), fp32.Length, "m", null),
            "input 'x' declares 40000 binary bytes but only 1200 remain");

        var short20 = Encoding.UTF8.GetBytes("""{"inputs":[{"name":"x","shape":[2,3],"datatype":"FP32","parameters":{"binary_data_size":20}}]}""");
        AssertInvalid(() => InferenceJson.ReadRequest(Concat(short20, new byte[20]), short20.Length, "m", null),
            "input 'x': FP32 [2,3] needs 24 bytes, got 20");

        var exact = Encoding.UTF8.GetBytes("""{"inputs":[{"name":"x","shape":[2],"datatype":"INT16","parameters":{"binary_data_size":4}}]}""");
        AssertInvalid(() => InferenceJson.ReadRequest(Concat(exact, new byte[7]), exact.Length, "m", null),
            "3 bytes follow the last binary input; the inputs' binary_data_size values add up to 4");
        AssertInvalid(() => InferenceJson.ReadRequest(Concat(exact, new byte[4]), exact.Length + 5, "m", null),
            $"Inference-Header-Content-Length {exact.Length + 5} is outside the body's {exact.Length + 4} bytes");

        var jsonOnly = Encoding.UTF8.GetBytes("""{"inputs":[]}""");
        AssertInvalid(() => InferenceJson.ReadRequest(Concat(jsonOnly, [1, 2]), jsonOnly.Length, "m", null),
            "2 bytes follow the last binary input");

        var bools = Encoding.UTF8.GetBytes("""{"inputs":[{"name":"b","shape":[3],"datatype":"BOOL","parameters":{"binary_data_size":3}}]}""");
        AssertInvalid(() => InferenceJson.ReadRequest(Concat(bools, [1, 0, 2]), bools.Length, "m", null),
            "input 'b': BOOL element 2 is byte 2; binary BOOL elements must be 0 or 1");
    }

    [Fact]
    public void Binary_BytesLayoutErrors()
    {
        static byte[] Body(int shape, byte[] binary) =>
            Concat(Encoding.UTF8.GetBytes($$$"""{"inputs":[{"name":"s","shape":[{{{shape}}}],"datatype":"BYTES","parameters":{"binary_data_size":{{{binary.Length}}}}}]}"""), binary);
        static void Check(int shape, byte[] binary, string message)
        {
            var body = Body(shape, binary);
            AssertInvalid(() => InferenceJson.ReadRequest(body, body.Length - binary.Length, "m", null), message);
        }

        Check(1, [9, 0, 0, 0, (byte)'a'], "input 's': BYTES element 0 declares 9 bytes but only 1 remain");
        Check(2, LengthPrefixed("ab", "c")[..^1], "input 's': BYTES element 1 declares 1 bytes but only 0 remain");
        Check(3, LengthPrefixed("a", "b"), "input 's': 3 BYTES elements need at least 12 bytes (a 4-byte length each), got 10");
        Check(2, [1, 0, 0, 0, (byte)'a', 0, 0, 0], "input 's': BYTES element 1 has no room for its 4-byte length (3 bytes remain)");
        Check(1, [.. LengthPrefixed("a"), 7, 7, 7, 7], "input 's': 4 bytes follow its 1 BYTES elements within binary_data_size");
    }

    [Fact]
    public void Errors_CarryInvalidArgumentCode_ForBadJson()
    {
        var ex = Assert.Throws<ProntoException>(() => Read("{"));
        Assert.Equal(ErrorCode.InvalidArgument, ex.Code);
        Assert.IsType<JsonException>(ex.InnerException, exactMatch: false);
    }

    [Fact]
    public void Limits_DefaultsAndValidation()
    {
        var limits = JsonLimits.Default;
        Assert.Equal(32, limits.MaxDepth);
        Assert.Equal(16_777_216, limits.MaxTensorElements);
        Assert.Equal(67_108_864, limits.MaxTotalElements);
        Assert.Equal(256, limits.MaxInputs);
        Assert.Equal(256, limits.MaxOutputs);
        Assert.Equal(64, limits.MaxRank);

        // A bad limit is the server's configuration mistake, not the client's: an argument exception.
        Assert.Throws<ArgumentOutOfRangeException>(() => InferenceJson.ReadRequest("{}"u8, "m", null, new JsonLimits { MaxDepth = 3 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => InferenceJson.ReadRequest("{}"u8, "m", null, new JsonLimits { MaxTensorElements = -1 }));
    }

    // ---- writing ----

    [Fact]
    public void Response_ExactJson()
    {
        var response = new InferenceResponse
        {
            ModelName = "m",
            ModelVersion = "1",
            Id = "42",
            Outputs =
            [
                new NamedTensor("p", Tensor.Create([0.1f, -2.5f, 1e-45f, 3.4028235e38f], 2, 2)),
                new NamedTensor("n", Tensor.Create([1L, long.MinValue], 2)),
                new NamedTensor("s", Tensor.FromStrings(["é", "日本", "a\"b"])),
            ],
        };

        Assert.Equal(
            """{"model_name":"m","model_version":"1","id":"42","outputs":[""" +
            """{"name":"p","datatype":"FP32","shape":[2,2],"data":[0.1,-2.5,1E-45,3.4028235E+38]},""" +
            """{"name":"n","datatype":"INT64","shape":[2],"data":[1,-9223372036854775808]},""" +
            """{"name":"s","datatype":"BYTES","shape":[3],"data":["é","日本","a\"b"]}]}""",
            Write(response, out _));
    }

    [Fact]
    public void Response_WithoutIdAndWithParameters()
    {
        var response = new InferenceResponse
        {
            ModelName = "m",
            ModelVersion = "3",
            Outputs = [new NamedTensor("b", Tensor.Create([true, false], 2)), new NamedTensor("u", Tensor.Scalar<byte>(255))],
            Parameters = new Dictionary<string, object> { ["t"] = true, ["n"] = 3L, ["d"] = 0.5, ["s"] = "x", ["inf"] = double.PositiveInfinity },
        };

        Assert.Equal(
            """{"model_name":"m","model_version":"3","parameters":{"t":true,"n":3,"d":0.5,"s":"x","inf":"Infinity"},"outputs":[""" +
            """{"name":"b","datatype":"BOOL","shape":[2],"data":[true,false]},{"name":"u","datatype":"UINT8","shape":[],"data":[255]}]}""",
            Write(response, out _));
    }

    [Fact]
    public void Response_NonFiniteFloats_AreStrings()
    {
        var response = Response(
            ("f", Tensor.Create([float.NaN, float.PositiveInfinity, float.NegativeInfinity, -0f], 4)),
            ("d", Tensor.Create([double.NaN, double.NegativeInfinity, 0.1], 3)));
        Assert.Equal(
            """{"model_name":"m","model_version":"1","outputs":[""" +
            """{"name":"f","datatype":"FP32","shape":[4],"data":["NaN","Infinity","-Infinity",-0]},""" +
            """{"name":"d","datatype":"FP64","shape":[3],"data":["NaN","-Infinity",0.1]}]}""",
            Write(response, out _));
    }

    [Fact]
    public void Response_FP32_RoundTripsThroughTheReaderBitExact()
    {
        float[] values = [0.1f, 1f / 3, float.Epsilon, float.MaxValue, float.MinValue, -0f, 16777217f, 1.17549435e-38f, float.NaN, float.NegativeInfinity, MathF.PI];
        var json = Write(Response(("f", Tensor.Create(values, values.Length))), out _);
        using var doc = JsonDocument.Parse(json);
        var data = doc.RootElement.GetProperty("outputs")[0].GetProperty("data").GetRawText();

        var back = ReadOne("FP32", $"[{values.Length}]", data);
        Assert.Equal(Bits(values), Bits(back.ToArray<float>()));
    }

    [Fact]
    public void Response_HalfAndBFloat16_AreWidenedToNumbers()
    {
        var response = Response(
            ("h", Tensor.Create([(Half)1.5, (Half)(-0.099975586), Half.PositiveInfinity], 3)),
            ("b", Tensor.FromBytes(DataType.BF16, new byte[] { 0x80, 0x3F, 0xC0, 0x7F }, 2)));
        Assert.Equal(
            """{"model_name":"m","model_version":"1","outputs":[""" +
            """{"name":"h","datatype":"FP16","shape":[3],"data":[1.5,-0.099975586,"Infinity"]},""" +
            """{"name":"b","datatype":"BF16","shape":[2],"data":[1,"NaN"]}]}""",
            Write(response, out _));
    }

    [Fact]
    public void Response_Bytes_EmojiIsEscapedAndReadsBackToTheSameUtf8()
    {
        // The encoder writes BMP text as UTF-8 but characters past it as \u surrogate pairs: still exact JSON.
        var response = Response(("s", Tensor.FromStrings(["😀é", "<&>'+"])));
        var json = Write(response, out _);
        Assert.Equal(
            """{"model_name":"m","model_version":"1","outputs":[{"name":"s","datatype":"BYTES","shape":[2],"data":["\uD83D\uDE00é","<&>'+"]}]}""",
            json);

        using var doc = JsonDocument.Parse(json);
        var data = doc.RootElement.GetProperty("outputs")[0].GetProperty("data").GetRawText();
        var back = ReadOne("BYTES", "[2]", data);
        Assert.Equal("😀é"u8.ToArray(), back.Strings[0].ToArray());
        Assert.Equal("<&>'+", back.GetString(1));
    }

    [Fact]
    public void Response_NonUtf8Bytes_AreBase64WithContentType()
    {
        ReadOnlyMemory<byte>[] elements = [new byte[] { 0xFF, 0x00 }, "ok"u8.ToArray()];
        var response = Response(("s", Tensor.FromStrings(elements, 2)));
        Assert.Equal(
            """{"model_name":"m","model_version":"1","outputs":[""" +
            """{"name":"s","datatype":"BYTES","shape":[2],"parameters":{"content_type":"base64"},"data":["/wA=","b2s="]}]}""",
            Write(response, out _));
    }

    [Fact]
    public void Response_BinaryOutputs_ExactLayout()
    {
        var response = Response(
            ("f", Tensor.Create([1f, 2f], 2)),
            ("i", Tensor.Create([7], 1)),
            ("s", Tensor.FromStrings(["a", ""])));

        var buffer = new ArrayBufferWriter<byte>();
        var jsonLength = InferenceJson.WriteResponse(buffer, response, new HashSet<string> { "f", "s" });

        var expectedJson =
            """{"model_name":"m","model_version":"1","outputs":[""" +
            """{"name":"f","datatype":"FP32","shape":[2],"parameters":{"binary_data_size":8}},""" +
            """{"name":"i","datatype":"INT32","shape":[1],"data":[7]},""" +
            """{"name":"s","datatype":"BYTES","shape":[2],"parameters":{"binary_data_size":9}}]}""";
        var expectedJsonBytes = Encoding.UTF8.GetBytes(expectedJson);
        Assert.Equal(expectedJsonBytes.Length, jsonLength);
        byte[] expectedBinary = [0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x00, 0x40, 0x01, 0x00, 0x00, 0x00, 0x61, 0x00, 0x00, 0x00, 0x00];
        Assert.Equal(Concat(expectedJsonBytes, expectedBinary), buffer.WrittenSpan.ToArray());
    }

    [Fact]
    public void Response_BinaryOutputs_ReadBackThroughTheRequestReader()
    {
        // The binary layout is the same both ways: a response's binary part is a valid request binary part.
        var strings = Tensor.FromStrings(["x", "日本", ""]);
        var response = Response(("s", strings), ("d", Tensor.Create([1.25, -3.5], 2)));
        var buffer = new ArrayBufferWriter<byte>();
        var jsonLength = InferenceJson.WriteResponse(buffer, response, new HashSet<string> { "s", "d" });
        var binary = buffer.WrittenSpan[jsonLength..].ToArray();

        var header = Encoding.UTF8.GetBytes("""
            {"inputs":[{"name":"s","shape":[3],"datatype":"BYTES","parameters":{"binary_data_size":19}},
                       {"name":"d","shape":[2],"datatype":"FP64","parameters":{"binary_data_size":16}}]}
            """);
        var inputs = InferenceJson.ReadRequest(Concat(header, binary), header.Length, "m", null).Request.Inputs;
        Assert.Equal(["x", "日本", ""], Enumerable.Range(0, 3).Select(inputs[0].Tensor.GetString));
        Assert.Equal([1.25, -3.5], inputs[1].Tensor.ToArray<double>());
    }

    [Fact]
    public void Error_Body()
    {
        var buffer = new ArrayBufferWriter<byte>();
        InferenceJson.WriteError(buffer, "input 'x': bad \"data\" é\n");
        Assert.Equal("""{"error":"input 'x': bad \"data\" é\n"}""", Encoding.UTF8.GetString(buffer.WrittenSpan));
    }

    // ---- helpers ----

    private static string Input(string datatype, string shape, string data) =>
        $$"""{"inputs":[{"name":"x","shape":{{shape}},"datatype":"{{datatype}}","data":{{data}}}]}""";

    private static JsonInferenceRequest Read(string json, JsonLimits? limits = null) =>
        InferenceJson.ReadRequest(Encoding.UTF8.GetBytes(json), "m", null, limits);

    private static Tensor ReadOne(string datatype, string shape, string data, JsonLimits? limits = null)
    {
        // Both overloads must agree.
        var json = Encoding.UTF8.GetBytes(Input(datatype, shape, data));
        var fromSpan = InferenceJson.ReadRequest(json.AsSpan(), "m", null, limits).Request.Inputs[0].Tensor;
        var fromMemory = InferenceJson.ReadRequest(json, json.Length, "m", null, limits).Request.Inputs[0].Tensor;
        Assert.Equal(fromSpan.Shape.ToArray(), fromMemory.Shape.ToArray());
        Assert.Equal(fromSpan.Data.ToArray(), fromMemory.Data.ToArray());
        Assert.Equal(fromSpan.Strings.Select(s => s.ToArray()), fromMemory.Strings.Select(s => s.ToArray()));
        return fromMemory;
    }

    private static void AssertInvalid(Action action, string message)
    {
        var ex = Assert.Throws<ProntoException>(action);
        Assert.Equal(ErrorCode.InvalidArgument, ex.Code);
        Assert.Contains(message, ex.Message, StringComparison.Ordinal);
    }

    private static InferenceResponse Response(params (string Name, Tensor Tensor)[] outputs) => new()
    {
        ModelName = "m",
        ModelVersion = "1",
        Outputs = [.. outputs.Select(o => new NamedTensor(o.Name, o.Tensor))],
    };

    private static string Write(InferenceResponse response, out int jsonLength)
    {
        var buffer = new ArrayBufferWriter<byte>();
        jsonLength = InferenceJson.WriteResponse(buffer, response);
        Assert.Equal(buffer.WrittenCount, jsonLength);
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static int[] Bits(float[] values) => Array.ConvertAll(values, BitConverter.SingleToInt32Bits);

    private static byte[] LengthPrefixed(params string[] values)
    {
        var result = new List<byte>();
        foreach (var value in values)
        {
            var bytes = Encoding.UTF8.GetBytes(value);
            var prefix = new byte[4];
            BinaryPrimitives.WriteInt32LittleEndian(prefix, bytes.Length);
            result.AddRange(prefix);
            result.AddRange(bytes);
        }

        return [.. result];
    }

    private static byte[] Concat(params byte[][] parts) => [.. parts.SelectMany(p => p)];
}
