using System.Globalization;

namespace Pronto.RawBench;

/// <summary>The <c>--name value</c> pairs after the mode; a name given that no mode reads is an error.</summary>
internal sealed class Options
{
    private static readonly string[] Known = ["model", "repository", "batch", "threads", "seconds", "runs", "json-out", "data"];

    private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);

    public Options(ReadOnlySpan<string> args)
    {
        for (var i = 0; i < args.Length; i += 2)
        {
            var name = args[i].StartsWith("--", StringComparison.Ordinal) ? args[i][2..] : "";
            if (!Known.Contains(name) || i + 1 >= args.Length)
            {
                throw new ArgumentException($"expected --{string.Join(" VALUE, --", Known)} VALUE; got '{args[i]}'");
            }

            _values[name] = args[i + 1];
        }
    }

    public string? Text(string name) => _values.GetValueOrDefault(name);

    public string Required(string name) => Text(name) ?? throw new ArgumentException($"--{name} is required");

    public int Int(string name, int fallback) => Text(name) is { } value ? int.Parse(value, CultureInfo.InvariantCulture) : fallback;

    public double Double(string name, double fallback) => Text(name) is { } value ? double.Parse(value, CultureInfo.InvariantCulture) : fallback;

    public int[] Ints(string name, int[] fallback) =>
        Text(name) is { } value ? [.. value.Split(',').Select(v => int.Parse(v, CultureInfo.InvariantCulture))] : fallback;
}
