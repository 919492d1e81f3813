using Pronto.Core.Tensors;
using Pronto.Models.Fraud;
using Pronto.Models.Onnx;

namespace Pronto.Testing;

/// <summary>Small real ONNX models written on the fly, for tests that need a model of a given shape or type.</summary>
public static class TinyModels
{
    /// <summary>
    /// Writes <c>&lt;repository&gt;/&lt;name&gt;/&lt;version&gt;/model.onnx</c>: <c>y = Identity(x)</c> for element type
    /// <paramref name="type"/> and dims given as longs (fixed) or strings (symbolic, e.g. "batch").
    /// </summary>
    public static string WriteIdentity(string repository, string name, DataType type, object[] dims, int version = 1)
    {
        var path = Path.Combine(repository, name, version.ToString(System.Globalization.CultureInfo.InvariantCulture), "model.onnx");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var elementType = (TensorProto.Types.DataType)OnnxTypeCode(type);
        var graph = new GraphProto { Name = name };
        graph.Input.Add(OnnxModelEditor.TensorValue("x", elementType, dims));
        graph.Output.Add(OnnxModelEditor.TensorValue("y", elementType, dims));
        graph.Node.Add(OnnxModelEditor.Node("Identity", "identity", ["x"], ["y"]));
        Save(graph, path);
        return path;
    }

    /// <summary>Writes <c>y = x + 1</c> over FP32 [batch, width] (a model whose output differs from its input, per version).</summary>
    public static string WriteAddConstant(string repository, string name, float constant, int width, int version = 1)
    {
        var path = Path.Combine(repository, name, version.ToString(System.Globalization.CultureInfo.InvariantCulture), "model.onnx");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var graph = new GraphProto { Name = name };
        graph.Input.Add(OnnxModelEditor.TensorValue("x", TensorProto.Types.DataType.Float, "batch", (long)width));
        graph.Output.Add(OnnxModelEditor.TensorValue("y", TensorProto.Types.DataType.Float, "batch", (long)width));
        graph.Initializer.Add(OnnxModelEditor.FloatTensor("c", [], [constant]));
        graph.Node.Add(OnnxModelEditor.Node("Add", "add", ["x", "c"], ["y"]));
        Save(graph, path);
        return path;
    }

    /// <summary>
    /// Writes a ReLU MLP over FP32 [batch, layers[0]] -> [batch, layers[^1]] (input <c>x</c>, output <c>y</c>) with
    /// deterministic pseudo-random weights scaled by 1/sqrt(fan-in). 256 -> 2048 -> 2048 -> 2 is the
    /// recommender-sized model of the batching benchmark: 4.7 M weights, 19 MB, more than the CPU caches hold.
    /// </summary>
    public static string WriteMlp(string repository, string name, int[] layers, ulong seed = 42)
    {
        ArgumentNullException.ThrowIfNull(layers);
        var path = Path.Combine(repository, name, "1", "model.onnx");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var graph = new GraphProto { Name = name };
        graph.Input.Add(OnnxModelEditor.TensorValue("x", TensorProto.Types.DataType.Float, "batch", (long)layers[0]));
        graph.Output.Add(OnnxModelEditor.TensorValue("y", TensorProto.Types.DataType.Float, "batch", (long)layers[^1]));
        var random = new SplitMix64(seed);
        var current = "x";
        for (var i = 0; i + 1 < layers.Length; i++)
        {
            var (fanIn, fanOut) = (layers[i], layers[i + 1]);
            var weights = new float[fanIn * fanOut];
            var scale = 1f / MathF.Sqrt(fanIn);
            for (var k = 0; k < weights.Length; k++)
            {
                weights[k] = random.NextSignedSingle() * scale;
            }

            graph.Initializer.Add(OnnxModelEditor.FloatTensor($"w{i}", [fanIn, fanOut], weights));
            graph.Initializer.Add(OnnxModelEditor.FloatTensor($"b{i}", [fanOut], new float[fanOut]));
            var last = i + 2 == layers.Length;
            graph.Node.Add(OnnxModelEditor.Node("MatMul", $"matmul{i}", [current, $"w{i}"], [$"m{i}"]));
            graph.Node.Add(OnnxModelEditor.Node("Add", $"add{i}", [$"m{i}", $"b{i}"], [last ? "y" : $"a{i}"]));
            if (!last)
            {
                graph.Node.Add(OnnxModelEditor.Node("Relu", $"relu{i}", [$"a{i}"], [$"h{i}"]));
                current = $"h{i}";
            }
        }

        Save(graph, path);
        return path;
    }

    /// <summary>
    /// Writes a chain of <paramref name="layers"/> 3 x 3 convolutions (padding 1, bias, ReLU) over FP32
    /// [batch, channels, size, size] -> the same shape, with deterministic weights scaled by 1/sqrt(fan-in): the
    /// convolution kernel of the benchmarks' FP32 peak, 2 x channels^2 x 9 x size^2 FLOPs per layer and sample.
    /// </summary>
    public static string WriteConvChain(string repository, string name, int channels, int size, int layers, ulong seed = 42)
    {
        var path = Path.Combine(repository, name, "1", "model.onnx");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var graph = new GraphProto { Name = name };
        graph.Input.Add(OnnxModelEditor.TensorValue("x", TensorProto.Types.DataType.Float, "batch", (long)channels, (long)size, (long)size));
        graph.Output.Add(OnnxModelEditor.TensorValue("y", TensorProto.Types.DataType.Float, "batch", (long)channels, (long)size, (long)size));
        var random = new SplitMix64(seed);
        var current = "x";
        var kernel = new AttributeProto { Name = "kernel_shape", Type = AttributeProto.Types.AttributeType.Ints, Ints = { 3, 3 } };
        var pads = new AttributeProto { Name = "pads", Type = AttributeProto.Types.AttributeType.Ints, Ints = { 1, 1, 1, 1 } };
        for (var i = 0; i < layers; i++)
        {
            var weights = new float[channels * channels * 9];
            var scale = 1f / MathF.Sqrt(channels * 9);
            for (var k = 0; k < weights.Length; k++)
            {
                weights[k] = random.NextSignedSingle() * scale;
            }

            graph.Initializer.Add(OnnxModelEditor.FloatTensor($"w{i}", [channels, channels, 3, 3], weights));
            graph.Initializer.Add(OnnxModelEditor.FloatTensor($"b{i}", [channels], new float[channels]));
            graph.Node.Add(OnnxModelEditor.Node("Conv", $"conv{i}", [current, $"w{i}", $"b{i}"], [$"c{i}"], kernel, pads));
            current = i + 1 == layers ? "y" : $"h{i}";
            graph.Node.Add(OnnxModelEditor.Node("Relu", $"relu{i}", [$"c{i}"], [current]));
        }

        Save(graph, path);
        return path;
    }

    /// <summary>
    /// Writes a config.pbtxt that only sets <c>pronto.reject_non_finite</c> (inputs and outputs are still derived
    /// from the graph), for tests of the refusal of NaN and infinities.
    /// </summary>
    public static void RejectNonFinite(string repository, string name) =>
        File.WriteAllText(Path.Combine(repository, name, "config.pbtxt"), "parameters { key: \"pronto.reject_non_finite\" value { string_value: \"true\" } }\n");

    /// <summary>
    /// Operator models shaped like ONNX's node tests, each with an input the zero-filled implicit warm-up makes
    /// invalid: <c>y = Resize(x, scales)</c> (nearest) over FP32 x [1,1,2,2] and scales FP32 [4]; ONNX Runtime
    /// refuses a scale of 0.
    /// </summary>
    public static string WriteResize(string repository, string name) => Write(repository, name, graph =>
    {
        graph.Input.Add(OnnxModelEditor.TensorValue("x", TensorProto.Types.DataType.Float, 1L, 1L, 2L, 2L));
        graph.Input.Add(OnnxModelEditor.TensorValue("scales", TensorProto.Types.DataType.Float, 4L));
        graph.Output.Add(OnnxModelEditor.TensorValue("y", TensorProto.Types.DataType.Float, 1L, 1L, "height", "width"));
        var mode = new AttributeProto { Name = "mode", Type = AttributeProto.Types.AttributeType.String, S = Google.Protobuf.ByteString.CopyFromUtf8("nearest") };
        graph.Node.Add(OnnxModelEditor.Node("Resize", "resize", ["x", "", "scales"], ["y"], mode));
    });

    /// <summary>
    /// <c>y = Reshape(x, shape)</c> over FP32 x [2,3] and INT64 shape [rank]: the warm-up's shape [0] copies
    /// dimension 0 and leaves 2 elements for 6.
    /// </summary>
    public static string WriteReshape(string repository, string name) => Write(repository, name, graph =>
    {
        graph.Input.Add(OnnxModelEditor.TensorValue("x", TensorProto.Types.DataType.Float, 2L, 3L));
        graph.Input.Add(OnnxModelEditor.TensorValue("shape", TensorProto.Types.DataType.Int64, "rank"));
        graph.Output.Add(OnnxModelEditor.TensorValue("y", TensorProto.Types.DataType.Float, "rows", "columns"));
        graph.Node.Add(OnnxModelEditor.Node("Reshape", "reshape", ["x", "shape"], ["y"]));
    });

    /// <summary><c>c = Mod(a, b)</c>, integer mod (the remainder takes the divisor's sign) over INT32 [3]: ONNX Runtime refuses a divisor of 0.</summary>
    public static string WriteMod(string repository, string name) => Write(repository, name, graph =>
    {
        graph.Input.Add(OnnxModelEditor.TensorValue("a", TensorProto.Types.DataType.Int32, 3L));
        graph.Input.Add(OnnxModelEditor.TensorValue("b", TensorProto.Types.DataType.Int32, 3L));
        graph.Output.Add(OnnxModelEditor.TensorValue("c", TensorProto.Types.DataType.Int32, 3L));
        graph.Node.Add(OnnxModelEditor.Node("Mod", "mod", ["a", "b"], ["c"]));
    });

    /// <summary><c>y = IsNaN(x)</c> over FP32 [n] -> BOOL [n] (derived as a batching model of scalars).</summary>
    public static string WriteIsNaN(string repository, string name) => Write(repository, name, graph =>
    {
        graph.Input.Add(OnnxModelEditor.TensorValue("x", TensorProto.Types.DataType.Float, "n"));
        graph.Output.Add(OnnxModelEditor.TensorValue("y", TensorProto.Types.DataType.Bool, "n"));
        graph.Node.Add(OnnxModelEditor.Node("IsNaN", "isnan", ["x"], ["y"]));
    });

    /// <summary>ONNX's TensorProto.DataType code of a protocol datatype.</summary>
    public static int OnnxTypeCode(DataType type) => type switch
    {
        DataType.FP32 => 1,
        DataType.UInt8 => 2,
        DataType.Int8 => 3,
        DataType.UInt16 => 4,
        DataType.Int16 => 5,
        DataType.Int32 => 6,
        DataType.Int64 => 7,
        DataType.Bytes => 8,
        DataType.Bool => 9,
        DataType.FP16 => 10,
        DataType.FP64 => 11,
        DataType.UInt32 => 12,
        DataType.UInt64 => 13,
        DataType.BF16 => 16,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, null),
    };

    private static string Write(string repository, string name, Action<GraphProto> build)
    {
        var path = Path.Combine(repository, name, "1", "model.onnx");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var graph = new GraphProto { Name = name };
        build(graph);
        Save(graph, path);
        return path;
    }

    private static void Save(GraphProto graph, string path)
    {
        var model = new ModelProto { IrVersion = 8, ProducerName = "pronto-tests", Graph = graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 17 });
        OnnxModelEditor.Save(model, path);
    }
}
