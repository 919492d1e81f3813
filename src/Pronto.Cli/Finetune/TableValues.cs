using System.Globalization;
using Pronto.Core.Errors;

namespace Pronto.Cli.Finetune;

/// <summary>A table cell as a feature or a label, for <c>pronto train</c>'s files and <c>pronto_train</c>'s query rows alike.</summary>
internal static class TableValues
{
    /// <summary>Numbers, booleans (1/0) and numeric text are features; empty or anything else is an error naming <paramref name="where"/>.</summary>
    public static float Feature(object? value, string where, string column) => value switch
    {
        long l => l,
        int i => i,
        short s => s,
        double d when double.IsFinite(d) => (float)d,
        float f when float.IsFinite(f) => f,
        decimal m => (float)m,
        bool b => b ? 1 : 0,
        string s when float.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var f) && float.IsFinite(f) => f,
        null or "" => ProntoErrors.InvalidArgument<float>($"{where}: feature '{column}' is empty"),
        var other => ProntoErrors.InvalidArgument<float>($"{where}: feature '{column}' is '{Convert.ToString(other, CultureInfo.InvariantCulture)}', not a finite number"),
    };

    /// <summary>A label as text: strings, integers, numbers and booleans.</summary>
    public static string Label(object? value, string where, string column) => value switch
    {
        string s when s.Length > 0 => s,
        long l => l.ToString(CultureInfo.InvariantCulture),
        int i => i.ToString(CultureInfo.InvariantCulture),
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        float f => f.ToString("R", CultureInfo.InvariantCulture),
        decimal m => m.ToString(CultureInfo.InvariantCulture),
        bool b => b ? "true" : "false",
        null or "" => ProntoErrors.InvalidArgument<string>($"{where}: label column '{column}' is empty"),
        var other => ProntoErrors.InvalidArgument<string>($"{where}: label '{other}' is not a string, number or boolean"),
    };
}
