using System.Buffers;

namespace Pronto.Batch.Input;

/// <summary>
/// One column of a <see cref="ColumnGroup"/>, as the job's kind: the values by row (long[], double[], bool[],
/// string?[], byte[]?[], or float[] for a REQUIRED FLOAT column; a null number or bool holds 0 / false) and, for numbers and booleans, which
/// rows are null (<see cref="Nulls"/>, null when no row is; strings and binary are null references). The arrays
/// come from the shared pools and may be longer than the rows; <see cref="Return"/> gives them back.
/// </summary>
internal sealed class ColumnData(ColumnKind kind, Array values, bool[]? nulls)
{
    public ColumnKind Kind { get; } = kind;

    public Array Values { get; } = values;

    public bool[]? Nulls { get; } = nulls;

    public bool IsNull(int row) => Kind switch
    {
        ColumnKind.String => ((string?[])Values)[row] is null,
        ColumnKind.Binary => ((byte[]?[])Values)[row] is null,
        _ => Nulls is { } nulls && nulls[row],
    };

    /// <summary>Row <paramref name="row"/>'s value boxed (long, double, bool, string, byte[], float), null for a null.</summary>
    public object? Box(int row) => IsNull(row) ? null : Values.GetValue(row);

    /// <summary>Row <paramref name="row"/>'s value as text (numbers in round-trip form, binary in base64), null for a null.</summary>
    public string? Text(int row) => Values switch
    {
        string?[] strings => strings[row],
        _ when IsNull(row) => null,
        _ => ColumnValues.Text(Values.GetValue(row)!),
    };

    /// <summary>A rented column of <paramref name="rows"/> rows of <paramref name="kind"/>, no row null yet.</summary>
    public static ColumnData Rent(ColumnKind kind, int rows, bool nullable) => new(kind, kind switch
    {
        ColumnKind.Int64 => ArrayPool<long>.Shared.Rent(rows),
        ColumnKind.Double => ArrayPool<double>.Shared.Rent(rows),
        ColumnKind.Bool => ArrayPool<bool>.Shared.Rent(rows),
        ColumnKind.String => ArrayPool<string?>.Shared.Rent(rows),
        ColumnKind.Float => ArrayPool<float>.Shared.Rent(rows),
        _ => ArrayPool<byte[]?>.Shared.Rent(rows),
    }, nullable && kind is ColumnKind.Int64 or ColumnKind.Double or ColumnKind.Bool ? RentNulls(rows) : null);

    /// <summary>A rented null mask of <paramref name="rows"/> rows, none null yet.</summary>
    public static bool[] RentNulls(int rows)
    {
        var nulls = ArrayPool<bool>.Shared.Rent(rows);
        Array.Clear(nulls, 0, rows);
        return nulls;
    }

    /// <summary>
    /// Moves the packed present values at the front of <paramref name="values"/> to their rows (from the end, so
    /// none is overwritten before it moves); null rows get the default.
    /// </summary>
    public static void Spread<T>(Span<T> values, ReadOnlySpan<bool> nulls)
    {
        var v = values.Length - nulls.Count(true) - 1;
        for (var r = values.Length - 1; r >= 0; r--)
        {
            values[r] = nulls[r] ? default! : values[v--];
        }
    }

    /// <summary>Copies rows [from, from + count) of this column to row <paramref name="at"/> of <paramref name="destination"/>.</summary>
    public void CopyTo(int from, ColumnData destination, int at, int count)
    {
        Array.Copy(Values, from, destination.Values, at, count);
        if (Nulls is not null && destination.Nulls is not null)
        {
            Array.Copy(Nulls, from, destination.Nulls, at, count);
        }
    }

    public void Return() => ReturnToPool(Values);

    /// <summary>Gives an array of one of the job's kinds back to its shared pool (references cleared).</summary>
    public static void ReturnToPool(Array values)
    {
        switch (values)
        {
            case long[] longs:
                ArrayPool<long>.Shared.Return(longs);
                break;
            case double[] doubles:
                ArrayPool<double>.Shared.Return(doubles);
                break;
            case bool[] bools:
                ArrayPool<bool>.Shared.Return(bools);
                break;
            case string?[] strings:
                ArrayPool<string?>.Shared.Return(strings, clearArray: true);
                break;
            case byte[]?[] bytes:
                ArrayPool<byte[]?>.Shared.Return(bytes, clearArray: true);
                break;
            case float[] floats:
                ArrayPool<float>.Shared.Return(floats);
                break;
        }
    }
}
