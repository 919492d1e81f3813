using System.Globalization;
using System.Text.Json;
using Pronto.Core.Errors;
using Pronto.Core.Repository;

namespace Pronto.Models;

/// <summary>
/// Whether a new version went live: it does when it is the model's first, when the live version (the latest, which
/// the default version policy serves) has no report to compare with, when its held-out metric is at least as good as
/// the live version's, or when forced; otherwise nothing is written and the live version stays.
/// </summary>
public sealed record ModelPromotion(bool Promoted, long? CurrentVersion, double? CurrentMetric, string Reason);

/// <summary>
/// The version folders of a model that Pronto trains (pronto finetune, pronto train): numbering, the model-level files
/// every version shares, promotion by a held-out metric in each version's report.json, and the atomic write.
/// </summary>
public static class ModelVersions
{
    public const string ReportFile = "report.json";

    /// <summary>The next version number: the largest numbered folder + 1, or 1 for a new model.</summary>
    public static long Next(string modelDirectory) => Directory.Exists(modelDirectory) ? Latest(modelDirectory, 0) + 1 : 1;

    /// <summary>The largest numbered version folder; <paramref name="none"/> when there is none (-1: an error).</summary>
    public static long Latest(string modelDirectory, long none = -1)
    {
        var latest = none;
        foreach (var dir in Directory.EnumerateDirectories(modelDirectory))
        {
            if (long.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var v) && v > latest)
            {
                latest = v;
            }
        }

        return latest >= 0 ? latest : ProntoErrors.InvalidArgument<long>($"'{modelDirectory}' has no numbered version folder");
    }

    /// <summary>A model folder that exists must hold the same config and labels (they are the model's, not a version's).</summary>
    public static void CheckExisting(string modelDirectory, string name, string configText, string labelFile, IReadOnlyList<string> labels, string what)
    {
        if (!Directory.Exists(modelDirectory))
        {
            return;
        }

        var configPath = Path.Combine(modelDirectory, ModelRepository.ConfigFileName);
        var labelPath = Path.Combine(modelDirectory, labelFile);
        var same = File.Exists(configPath) && File.ReadAllText(configPath) == configText
            && (labels.Count == 0 ? !File.Exists(labelPath) : File.Exists(labelPath) && File.ReadAllLines(labelPath).SequenceEqual(labels, StringComparer.Ordinal));
        if (!same)
        {
            ProntoErrors.InvalidArgument($"model '{name}' already exists in {Path.GetDirectoryName(modelDirectory)} with another {what}; a new version must keep them (they are the model's, not the version's): choose a new NAME");
        }
    }

    /// <summary>
    /// The promotion decision for a candidate scoring <paramref name="candidate"/> on <paramref name="metricKey"/>
    /// against the live (latest) version's report.json, both rounded as report.json keeps them (6 decimals), so the same
    /// data and seed always promote.
    /// </summary>
    public static ModelPromotion Promote(string modelDirectory, string metricKey, string metricName, double candidate, bool higherIsBetter, bool force)
    {
        var current = Directory.Exists(modelDirectory) ? Latest(modelDirectory, 0) : 0;
        if (current == 0)
        {
            return new ModelPromotion(true, null, null, "the model's first version");
        }

        double? live = null;
        var reportPath = Path.Combine(modelDirectory, current.ToString(CultureInfo.InvariantCulture), ReportFile);
        if (File.Exists(reportPath))
        {
            try
            {
                using var json = JsonDocument.Parse(File.ReadAllText(reportPath));
                if (json.RootElement.TryGetProperty(metricKey, out var value) && value.ValueKind == JsonValueKind.Number)
                {
                    live = value.GetDouble();
                }
            }
            catch (JsonException)
            {
                live = null;
            }
        }

        if (live is not { } was)
        {
            return new ModelPromotion(true, current, null, Invariant($"version {current} has no {ReportFile} with a {metricKey} to compare with"));
        }

        var now = Math.Round(candidate, 6);
        var better = higherIsBetter ? now >= was : now <= was;
        var (kept, lost) = higherIsBetter ? (">=", "<") : ("<=", ">");
        return better
            ? new ModelPromotion(true, current, was, Invariant($"held-out {metricName} {now:0.000000} {kept} version {current}'s {was:0.000000}"))
            : force
                ? new ModelPromotion(true, current, was, Invariant($"--force: held-out {metricName} {now:0.000000} {lost} version {current}'s {was:0.000000}"))
                : new ModelPromotion(false, current, was, Invariant($"held-out {metricName} {now:0.000000} {lost} version {current}'s {was:0.000000}: version {current} stays live and nothing was written (--force writes the new version anyway)"));
    }

    /// <summary>Writes a promotion as report.json keeps it.</summary>
    public static void WritePromotion(Utf8JsonWriter w, ModelPromotion promotion, string metricKey)
    {
        ArgumentNullException.ThrowIfNull(w);
        ArgumentNullException.ThrowIfNull(promotion);
        w.WriteStartObject("promotion");
        w.WriteBoolean("promoted", promotion.Promoted);
        if (promotion.CurrentVersion is { } current)
        {
            w.WriteNumber("current_version", current);
        }

        if (promotion.CurrentMetric is { } metric)
        {
            w.WriteNumber("current_" + metricKey, metric);
        }

        w.WriteString("reason", promotion.Reason);
        w.WriteEndObject();
    }

    /// <summary>
    /// Writes version <paramref name="version"/> of the model at <paramref name="modelDirectory"/> atomically: a new
    /// model is staged whole beside the repository's models (<paramref name="writeModel"/> fills its folder: config,
    /// labels, shared files), a new version of an existing one inside its folder (<paramref name="writeVersion"/> fills
    /// the version folder), then renamed into place. Dot-prefixed folders are neither model names nor version numbers,
    /// so a server never sees half of it. Returns the version's folder.
    /// </summary>
    public static string Write(string target, string modelDirectory, long version, Action<string> writeModel, Action<string> writeVersion)
    {
        ArgumentNullException.ThrowIfNull(writeModel);
        ArgumentNullException.ThrowIfNull(writeVersion);
        var versionName = version.ToString(CultureInfo.InvariantCulture);
        var isNew = !Directory.Exists(modelDirectory);
        var staging = isNew
            ? Path.Combine(target, $".{Path.GetFileName(modelDirectory)}.partial-{Guid.NewGuid():N}")
            : Path.Combine(modelDirectory, $".{versionName}.partial-{Guid.NewGuid():N}");
        var versionDirectory = isNew ? Path.Combine(staging, versionName) : staging;
        Directory.CreateDirectory(versionDirectory);
        try
        {
            if (isNew)
            {
                writeModel(staging);
            }

            writeVersion(versionDirectory);
            Directory.Move(staging, isNew ? modelDirectory : Path.Combine(modelDirectory, versionName));
        }
        finally
        {
            if (Directory.Exists(staging))
            {
                Directory.Delete(staging, recursive: true);
            }
        }

        return Path.Combine(modelDirectory, versionName);
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
