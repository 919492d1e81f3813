using System.Buffers.Binary;
using Pronto.Models.Onnx;

namespace Pronto.RawBench;

/// <summary>FLOPs of one sample through a graph, in total and per operator type.</summary>
internal sealed record FlopCount(long Total, IReadOnlyDictionary<string, long> ByOperator);

/// <summary>
/// Counts the FLOPs of one sample through an ONNX graph from the graph alone: two per multiply-add of Conv, Gemm and
/// MatMul. Bias adds, activations, pooling and normalization are left out, as the published GMAC figures of CNNs leave
/// them out. Shapes are propagated from the graph inputs, every symbolic dimension taken as 1 (one sample), through the
/// operators <see cref="InferShape"/> knows; the exporter's value_info fills in the others where it has them. A counted
/// operator whose input shape is still unknown is an error that names it.
/// </summary>
internal static class FlopCounter
{
    public static FlopCount Count(string modelPath)
    {
        var graph = OnnxModelEditor.Load(modelPath).Graph;
        var shapes = new Dictionary<string, long[]>(StringComparer.Ordinal);
        foreach (var value in graph.Input.Concat(graph.ValueInfo))
        {
            if (value.Type?.TensorType?.Shape is { } shape)
            {
                shapes[value.Name] = [.. shape.Dim.Select(d => d.HasDimValue ? d.DimValue : 1)];
            }
        }

        var constants = graph.Initializer.ToDictionary(t => t.Name, StringComparer.Ordinal);
        foreach (var (name, tensor) in constants)
        {
            shapes[name] = [.. tensor.Dims];
        }

        var producers = new Dictionary<string, NodeProto>(StringComparer.Ordinal);
        var byOperator = new SortedDictionary<string, long>(StringComparer.Ordinal);
        foreach (var node in graph.Node)
        {
            foreach (var name in node.Output)
            {
                producers[name] = node;
            }

            if (node.OpType == "Constant" && node.Attribute.FirstOrDefault(a => a.Name == "value")?.T is { } value)
            {
                constants[node.Output[0]] = value;
                shapes[node.Output[0]] = [.. value.Dims];
                continue;
            }

            var output = InferShape(node, shapes, constants);
            if (output is not null)
            {
                shapes[node.Output[0]] = output;
            }

            if (node.OpType is not ("Conv" or "Gemm" or "MatMul"))
            {
                continue;
            }

            // The counted operators' output shapes follow from their inputs, so a missing one means a missing input.
            if (output is null)
            {
                var unknown = node.Input.First(i => !shapes.ContainsKey(i));
                throw new InvalidOperationException(
                    $"cannot count node '{node.Name}' ({node.OpType}): the shape of its input '{unknown}' is unknown; the node that makes it " +
                    $"({(producers.TryGetValue(unknown, out var producer) ? producer.OpType : "none")}) or one before it is an operator this counter does not propagate shapes through");
            }

            byOperator[node.OpType] = byOperator.GetValueOrDefault(node.OpType) + Flops(node, shapes[node.Input[0]], shapes[node.Input[1]], output);
        }

        return new FlopCount(byOperator.Values.Sum(), byOperator);
    }

    private static long Flops(NodeProto node, long[] a, long[] b, long[] output) => node.OpType switch
    {
        // Each output element of a Conv is one dot product over (Cin / group) x kernel taps.
        "Conv" => 2 * Product(output) * Product(b.AsSpan(1)),
        "Gemm" => 2 * Product(output) * (Int(node, "transA", 0) == 0 ? a[1] : a[0]),
        _ => 2 * Product(output) * a[^1],
    };

    private static long[]? InferShape(NodeProto node, Dictionary<string, long[]> shapes, Dictionary<string, TensorProto> constants)
    {
        // Empty names are optional inputs left out.
        var names = node.Input.Where(i => i.Length > 0).ToArray();
        if (names.Length == 0 || !names.All(shapes.ContainsKey))
        {
            return null;
        }

        var inputs = names.Select(i => shapes[i]).ToArray();
        var x = inputs[0];

        return node.OpType switch
        {
            "Conv" => [x[0], inputs[1][0], .. Spatial(node, x[2..], inputs[1][2..])],
            "MaxPool" or "AveragePool" => [x[0], x[1], .. Spatial(node, x[2..], [.. node.Attribute.First(a => a.Name == "kernel_shape").Ints])],
            "GlobalAveragePool" or "GlobalMaxPool" => [x[0], x[1], .. Enumerable.Repeat(1L, x.Length - 2)],
            "Flatten" => Flatten(x, Int(node, "axis", 1)),
            "Gemm" => [Int(node, "transA", 0) == 0 ? x[0] : x[1], Int(node, "transB", 0) == 0 ? inputs[1][1] : inputs[1][0]],
            "MatMul" => MatMul(x, inputs[1]),
            "Add" or "Sub" or "Mul" or "Div" or "Pow" or "Max" or "Min" or "Sum" => inputs.Aggregate(Broadcast),
            "Reshape" when constants.TryGetValue(node.Input[1], out var target) => Reshape(x, Int64Values(target)),
            "Concat" => Concat(inputs, Int(node, "axis", 0)),
            "Relu" or "LeakyRelu" or "PRelu" or "Sigmoid" or "Tanh" or "Clip" or "Softmax" or "LogSoftmax" or "Erf" or "Gelu"
                or "BatchNormalization" or "InstanceNormalization" or "LayerNormalization" or "LRN" or "Dropout" or "Identity"
                or "Cast" or "Neg" or "Abs" or "Sqrt" or "Exp" or "Log" => x,
            _ => null,
        };
    }

    /// <summary>Output extents of a convolution or pooling window over the spatial axes (ONNX's formulas, auto_pad included).</summary>
    private static long[] Spatial(NodeProto node, long[] input, long[] kernel)
    {
        var rank = kernel.Length;
        var strides = Ints(node, "strides") ?? [.. Enumerable.Repeat(1L, rank)];
        var dilations = Ints(node, "dilations") ?? [.. Enumerable.Repeat(1L, rank)];
        var pads = Ints(node, "pads") ?? new long[2 * rank];
        var autoPad = node.Attribute.FirstOrDefault(a => a.Name == "auto_pad")?.S.ToStringUtf8() ?? "NOTSET";
        var ceil = Int(node, "ceil_mode", 0) == 1;
        var output = new long[rank];
        for (var i = 0; i < rank; i++)
        {
            var extent = (dilations[i] * (kernel[i] - 1)) + 1;
            var padded = input[i] + pads[i] + pads[i + rank] - extent;
            output[i] = autoPad switch
            {
                "SAME_UPPER" or "SAME_LOWER" => CeilDiv(input[i], strides[i]),
                "VALID" => CeilDiv(input[i] - extent + 1, strides[i]),
                _ => (ceil ? CeilDiv(padded, strides[i]) : padded / strides[i]) + 1,
            };
        }

        return output;
    }

    private static long[] Flatten(long[] x, long axis)
    {
        var split = (int)(axis < 0 ? axis + x.Length : axis);
        return [Product(x[..split]), Product(x[split..])];
    }

    /// <summary>numpy matmul: a 1-D operand loses its axis in the result; leading axes broadcast.</summary>
    private static long[] MatMul(long[] a, long[] b) =>
        b.Length == 1 ? a[..^1] : a.Length == 1 ? [.. b[..^2], b[^1]] : [.. Broadcast(a[..^2], b[..^2]), a[^2], b[^1]];

    private static long[] Broadcast(long[] a, long[] b)
    {
        var result = new long[Math.Max(a.Length, b.Length)];
        for (var i = 1; i <= result.Length; i++)
        {
            var (da, db) = (i <= a.Length ? a[^i] : 1, i <= b.Length ? b[^i] : 1);
            result[^i] = da == 1 ? db : da;
        }

        return result;
    }

    private static long[] Reshape(long[] x, long[] target)
    {
        // 0 copies the input's dimension; one -1 takes what is left.
        var result = target.Select((d, i) => d == 0 ? x[i] : d).ToArray();
        var inferred = Array.IndexOf(result, -1L);
        if (inferred >= 0)
        {
            result[inferred] = Product(x) / Product([.. result.Where(d => d != -1)]);
        }

        return result;
    }

    private static long[] Concat(long[][] inputs, long axis)
    {
        var result = inputs[0].ToArray();
        var at = (int)(axis < 0 ? axis + result.Length : axis);
        result[at] = inputs.Sum(i => i[at]);
        return result;
    }

    private static long[] Int64Values(TensorProto tensor)
    {
        if (tensor.Int64Data.Count > 0)
        {
            return [.. tensor.Int64Data];
        }

        var raw = tensor.RawData.Span;
        var values = new long[raw.Length / sizeof(long)];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = BinaryPrimitives.ReadInt64LittleEndian(raw[(i * sizeof(long))..]);
        }

        return values;
    }

    private static long Int(NodeProto node, string name, long fallback) =>
        node.Attribute.FirstOrDefault(a => a.Name == name) is { } attribute ? attribute.I : fallback;

    private static long[]? Ints(NodeProto node, string name) =>
        node.Attribute.FirstOrDefault(a => a.Name == name) is { Ints.Count: > 0 } attribute ? [.. attribute.Ints] : null;

    private static long CeilDiv(long value, long divisor) => (value + divisor - 1) / divisor;

    private static long Product(ReadOnlySpan<long> dims)
    {
        long product = 1;
        foreach (var d in dims)
        {
            product *= d;
        }

        return product;
    }
}
