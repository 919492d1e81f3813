using Pronto.Core.Configuration;
using Pronto.Core.Inference;
using Pronto.Core.Tensors;

namespace Pronto.Core.Scheduling;

/// <summary>
/// Turns several requests into one engine run and back: inputs concatenated along the batch dimension
/// (variable dims, -1 in the config, padded with zeros to the longest in the batch: a zero attention mask
/// keeps the padding out of the result), outputs split back to each request's rows and, where an output
/// dimension is the padded length, cut back to the request's own length.
/// </summary>
internal static class BatchAssembler
{
    /// <summary>Whether <paramref name="candidate"/> can run in one execution with <paramref name="first"/>.</summary>
    public static bool Compatible(ModelConfig config, ScheduledRequest first, ScheduledRequest candidate)
    {
        var a = first.Inputs;
        var b = candidate.Inputs;
        if (a.Count != b.Count)
        {
            return false;
        }

        for (var i = 0; i < a.Count; i++)
        {
            var x = a[i];
            var y = Find(b, x.Name);
            if (y is null || x.Tensor.DataType != y.Tensor.DataType || x.Tensor.Rank != y.Tensor.Rank)
            {
                return false;
            }

            var dims = ConfigDims(config, x.Name, x.Tensor.Rank);
            for (var d = 1; d < x.Tensor.Rank; d++)
            {
                var padable = dims is not null && dims[d - 1] == -1 && x.Tensor.DataType != DataType.Bytes;
                if (!padable && x.Tensor.Shape[d] != y.Tensor.Shape[d])
                {
                    return false;
                }
            }
        }

        return true;
    }

    /// <summary>One tensor per input of the first request: the batch's rows in order, padded to the longest.</summary>
    public static NamedTensor[] Concatenate(ScheduledRequest[] batch, int count, int totalRows)
    {
        var first = batch[0].Inputs;
        var merged = new NamedTensor[first.Count];
        for (var i = 0; i < first.Count; i++)
        {
            var name = first[i].Name;
            var template = first[i].Tensor;
            var shape = new long[template.Rank];
            shape[0] = totalRows;
            for (var d = 1; d < shape.Length; d++)
            {
                for (var r = 0; r < count; r++)
                {
                    shape[d] = Math.Max(shape[d], Find(batch[r].Inputs, name)!.Tensor.Shape[d]);
                }
            }

            if (template.DataType == DataType.Bytes)
            {
                var strings = new ReadOnlyMemory<byte>[Tensor.CountElements(shape)];
                var at = 0;
                for (var r = 0; r < count; r++)
                {
                    foreach (var s in Find(batch[r].Inputs, name)!.Tensor.Strings)
                    {
                        strings[at++] = s;
                    }
                }

                merged[i] = new NamedTensor(name, Tensor.FromStrings(strings, shape));
                continue;
            }

            var elementSize = template.DataType.ElementSize();
            var data = new byte[Tensor.CountElements(shape) * elementSize];
            var rowBytes = RowBytes(shape, elementSize);
            long offset = 0;
            for (var r = 0; r < count; r++)
            {
                var t = Find(batch[r].Inputs, name)!.Tensor;
                var target = new long[shape.Length];
                shape.CopyTo(target, 0);
                target[0] = t.Shape[0];
                CopyBox(t.Data.Span, t.Shape.AsSpan(), data.AsSpan((int)(offset * rowBytes)), target, t.Shape.AsSpan(), elementSize);
                offset += t.Shape[0];
            }

            merged[i] = new NamedTensor(name, Tensor.FromBytes(template.DataType, data, shape));
        }

        return merged;
    }

    /// <summary>
    /// The rows <paramref name="rowOffset"/>.. of each of <paramref name="names"/> in <paramref name="raw"/> for
    /// <paramref name="request"/>; a dimension equal to a padded input length is cut to the request's own length.
    /// </summary>
    public static NamedTensor[] Split(ScheduledRequest request, long rowOffset, IReadOnlyList<string> names, IReadOnlyList<NamedTensor> raw, IReadOnlyList<string> rawNames, NamedTensor[] merged)
    {
        var result = new NamedTensor[names.Count];
        for (var i = 0; i < names.Count; i++)
        {
            var source = raw[IndexOf(rawNames, names[i])];
            var t = source.Tensor;
            if (t.Rank == 0)
            {
                result[i] = source;
                continue;
            }

            var shape = new long[t.Rank];
            shape[0] = request.Rows;
            for (var d = 1; d < shape.Length; d++)
            {
                shape[d] = OwnLength(request, merged, t.Shape[d]);
            }

            if (t.DataType == DataType.Bytes)
            {
                var perRow = (int)(t.ElementCount / Math.Max(1, t.Shape[0]));
                var strings = new ReadOnlyMemory<byte>[request.Rows * perRow];
                for (var k = 0; k < strings.Length; k++)
                {
                    strings[k] = t.Strings[(int)(rowOffset * perRow) + k];
                }

                result[i] = new NamedTensor(source.Name, Tensor.FromStrings(strings, [request.Rows, .. t.Shape.AsSpan()[1..]]));
                continue;
            }

            var elementSize = t.DataType.ElementSize();
            var rowBytes = RowBytes(t.Shape.AsSpan(), elementSize);
            var from = t.Data.Slice((int)(rowOffset * rowBytes), (int)(request.Rows * rowBytes));
            if (SameTail(shape, t.Shape.AsSpan()))
            {
                // No padding to undo: a view of the batch output, no copy.
                result[i] = new NamedTensor(source.Name, Tensor.FromBytes(t.DataType, from, shape));
                continue;
            }

            var fromShape = new long[t.Rank];
            t.Shape.CopyTo(fromShape);
            fromShape[0] = request.Rows;
            var data = new byte[Tensor.CountElements(shape) * elementSize];
            CopyBox(from.Span, fromShape, data, shape, shape, elementSize);
            result[i] = new NamedTensor(source.Name, Tensor.FromBytes(t.DataType, data, shape));
        }

        return result;
    }

    // An output dimension equal to a dimension the batch padded takes the request's own value of that input dimension.
    private static long OwnLength(ScheduledRequest request, NamedTensor[] merged, long size)
    {
        foreach (var m in merged)
        {
            var own = Find(request.Inputs, m.Name)!.Tensor;
            for (var d = 1; d < m.Tensor.Rank; d++)
            {
                if (m.Tensor.Shape[d] == size && own.Shape[d] != size)
                {
                    return own.Shape[d];
                }
            }
        }

        return size;
    }

    private static bool SameTail(long[] a, ReadOnlySpan<long> b)
    {
        for (var d = 1; d < a.Length; d++)
        {
            if (a[d] != b[d])
            {
                return false;
            }
        }

        return true;
    }

    private static long RowBytes(ReadOnlySpan<long> shape, int elementSize)
    {
        long n = elementSize;
        for (var d = 1; d < shape.Length; d++)
        {
            n *= shape[d];
        }

        return n;
    }

    /// <summary>Copies the box <paramref name="box"/> from a row-major <paramref name="srcShape"/> array into a row-major <paramref name="dstShape"/> one.</summary>
    private static void CopyBox(ReadOnlySpan<byte> src, ReadOnlySpan<long> srcShape, Span<byte> dst, ReadOnlySpan<long> dstShape, ReadOnlySpan<long> box, int elementSize)
    {
        if (box.Length == 0)
        {
            src[..elementSize].CopyTo(dst);
            return;
        }

        if (box.Length == 1)
        {
            src[..(int)(box[0] * elementSize)].CopyTo(dst);
            return;
        }

        var srcStride = RowBytes(srcShape, elementSize);
        var dstStride = RowBytes(dstShape, elementSize);
        for (long i = 0; i < box[0]; i++)
        {
            CopyBox(src[(int)(i * srcStride)..], srcShape[1..], dst[(int)(i * dstStride)..], dstShape[1..], box[1..], elementSize);
        }
    }

    private static long[]? ConfigDims(ModelConfig config, string name, int rank)
    {
        foreach (var input in config.Inputs)
        {
            if (input.Name == name)
            {
                var dims = input.Dims;
                return dims.Length == rank - 1 ? dims : null;
            }
        }

        return null;
    }

    private static int IndexOf(IReadOnlyList<string> names, string name)
    {
        for (var i = 0; i < names.Count; i++)
        {
            if (names[i] == name)
            {
                return i;
            }
        }

        return -1;
    }

    private static NamedTensor? Find(IReadOnlyList<NamedTensor> inputs, string name)
    {
        foreach (var input in inputs)
        {
            if (input.Name == name)
            {
                return input;
            }
        }

        return null;
    }
}
