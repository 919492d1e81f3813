using System.Globalization;

namespace Pronto.Batch;

/// <summary>The value kinds a batch column holds. Input integers widen to Int64 and floats to Double.</summary>
public enum ColumnKind
{
    String,
    Int64,
    Double,
    Bool,
    Binary,
    Float,
    FloatList,
}

/// <summary>
/// A named, typed column of the input or the output. <paramref name="Single"/>: a <see cref="ColumnKind.Double"/>
/// column that its one Parquet input file stores as 32-bit FLOAT; a Parquet output keeps it FLOAT (its values are
/// floats widened, so narrowing them back is exact).
/// </summary>
public sealed record Column(string Name, ColumnKind Kind, bool Single = false);

internal static class ColumnValues
{
    public static string Text(object value) => value switch
    {
        string s => s,
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        long l => l.ToString(CultureInfo.InvariantCulture),
        bool b => b ? "true" : "false",
        byte[] bytes => Convert.ToBase64String(bytes),
        _ => Convert.ToString(value, CultureInfo.InvariantCulture) ?? "",
    };
}
