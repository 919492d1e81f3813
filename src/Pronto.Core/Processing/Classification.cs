using System.Globalization;
using System.Text;
using Pronto.Core.Errors;
using Pronto.Core.Tensors;

namespace Pronto.Core.Processing;

/// <summary>One class of a top-k: its score, index and label (the index as text when the model has no labels).</summary>
public readonly record struct ClassScore(float Score, int Index, string Label);

/// <summary>
/// Top-k classes, and the protocol's classification extension: a BYTES tensor [n, k] of
/// <c>"score:index:label"</c> strings (Triton writes the score with six decimals, as C's %f does).
/// </summary>
public static class Classification
{
    /// <summary>The <paramref name="k"/> highest scores of each row of <paramref name="scores"/> ([n, classes] or [classes]), best first.</summary>
    public static ClassScore[][] TopK(Tensor scores, int k, IReadOnlyList<string>? labels)
    {
        if (k < 1)
        {
            ProntoErrors.InvalidArgument($"classification needs k >= 1, got {k}");
        }

        float[] values = scores.DataType switch
        {
            DataType.FP32 => scores.ToArray<float>(),
            DataType.FP64 => Array.ConvertAll(scores.ToArray<double>(), v => (float)v),
            DataType.FP16 => Array.ConvertAll(scores.ToArray<Half>(), v => (float)v),
            DataType.Int32 => Array.ConvertAll(scores.ToArray<int>(), v => (float)v),
            DataType.Int64 => Array.ConvertAll(scores.ToArray<long>(), v => (float)v),
            _ => ProntoErrors.InvalidArgument<float[]>($"classification needs a numeric output, got {scores.DataType.ToProtocolName()}"),
        };
        var rows = scores.Rank <= 1 ? 1 : (int)scores.Shape[0];
        var classes = rows == 0 ? 0 : values.Length / rows;
        var result = new ClassScore[rows][];
        for (var r = 0; r < rows; r++)
        {
            var row = values.AsSpan(r * classes, classes);
            var take = Math.Min(k, classes);
            var indices = new int[classes];
            for (var c = 0; c < classes; c++)
            {
                indices[c] = c;
            }

            // Stable: equal scores keep the lower index first, so results do not depend on the sort.
            var copy = row.ToArray();
            Array.Sort(indices, (a, b) => copy[b] != copy[a] ? copy[b].CompareTo(copy[a]) : a.CompareTo(b));
            result[r] = new ClassScore[take];
            for (var j = 0; j < take; j++)
            {
                var index = indices[j];
                var label = labels is not null && index < labels.Count ? labels[index] : index.ToString(CultureInfo.InvariantCulture);
                result[r][j] = new ClassScore(copy[index], index, label);
            }
        }

        return result;
    }

    /// <summary>The classification extension's BYTES tensor [n, k] (or [k] for a 1-D output).</summary>
    public static Tensor ToTensor(Tensor scores, int k, IReadOnlyList<string>? labels)
    {
        var top = TopK(scores, k, labels);
        var take = top.Length == 0 ? 0 : top[0].Length;
        var elements = new ReadOnlyMemory<byte>[top.Length * take];
        for (var r = 0; r < top.Length; r++)
        {
            for (var j = 0; j < take; j++)
            {
                var c = top[r][j];
                var text = c.Score.ToString("F6", CultureInfo.InvariantCulture) + ":" + c.Index.ToString(CultureInfo.InvariantCulture) + ":" + c.Label;
                elements[(r * take) + j] = Encoding.UTF8.GetBytes(text);
            }
        }

        return scores.Rank <= 1 ? Tensor.FromStrings(elements, take) : Tensor.FromStrings(elements, top.Length, take);
    }

    /// <summary>
    /// Reads back a classification extension tensor (<see cref="ToTensor"/>'s BYTES [n, k] or [k]) as rows of
    /// classes, best first. The label is everything after the second colon, so labels may hold colons.
    /// </summary>
    public static ClassScore[][] FromTensor(Tensor classes)
    {
        if (classes.DataType != DataType.Bytes)
        {
            ProntoErrors.InvalidArgument($"a classification output is BYTES, got {classes.DataType.ToProtocolName()}");
        }

        var rows = classes.Rank <= 1 ? 1 : (int)classes.Shape[0];
        var take = rows == 0 ? 0 : classes.Strings.Count / rows;
        var result = new ClassScore[rows][];
        for (var r = 0; r < rows; r++)
        {
            result[r] = new ClassScore[take];
            for (var j = 0; j < take; j++)
            {
                var text = classes.GetString((r * take) + j);
                var first = text.IndexOf(':', StringComparison.Ordinal);
                var second = first < 0 ? -1 : text.IndexOf(':', first + 1);
                if (second < 0
                    || !float.TryParse(text.AsSpan(0, first), NumberStyles.Float, CultureInfo.InvariantCulture, out var score)
                    || !int.TryParse(text.AsSpan(first + 1, second - first - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var index))
                {
                    return ProntoErrors.InvalidArgument<ClassScore[][]>($"classification element '{text}' is not 'score:index:label'");
                }

                result[r][j] = new ClassScore(score, index, text[(second + 1)..]);
            }
        }

        return result;
    }
}
