using System.Globalization;
using Pronto.Core.Errors;

namespace Pronto.Core.Inference;

/// <summary>
/// The <c>keep_alive</c> request parameter, as Ollama reads it: how long the model stays loaded after this request.
/// A number of seconds or a duration string (<c>"30s"</c>, <c>"5m"</c>, <c>"1h"</c>); 0 unloads it once idle,
/// a negative value keeps it loaded (pinned).
/// </summary>
public static class KeepAlive
{
    public const string Parameter = "keep_alive";

    /// <summary>The idle time asked for (infinite: pinned), or null when the request does not say.</summary>
    public static TimeSpan? Read(IReadOnlyDictionary<string, object> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (!parameters.TryGetValue(Parameter, out var value))
        {
            return null;
        }

        double? seconds = value switch
        {
            long l => l,
            int i => i,
            ulong u => u,
            double d when double.IsFinite(d) => d,
            string text => Parse(text),
            _ => null,
        };
        return seconds switch
        {
            null => ProntoErrors.InvalidArgument<TimeSpan?>($"parameter '{Parameter}' must be a number of seconds or a duration such as \"30s\", \"5m\" or \"1h\" (negative: keep loaded), got {Describe(value)}"),
            < 0 => Timeout.InfiniteTimeSpan,
            > 365 * 24 * 3600 => ProntoErrors.InvalidArgument<TimeSpan?>($"parameter '{Parameter}' is longer than a year ({seconds} s); use a negative value to keep the model loaded"),
            _ => TimeSpan.FromSeconds(seconds.Value),
        };
    }

    private static double? Parse(string text)
    {
        var unit = text.Length > 0 ? text[^1] : '\0';
        var (number, scale) = unit switch
        {
            's' => (text[..^1], 1.0),
            'm' => (text[..^1], 60.0),
            'h' => (text[..^1], 3600.0),
            _ => (text, 1.0),
        };
        return double.TryParse(number, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var n) && double.IsFinite(n) ? n * scale : null;
    }

    private static string Describe(object value) => value is string s ? $"'{s}'" : Convert.ToString(value, CultureInfo.InvariantCulture) ?? "null";
}
