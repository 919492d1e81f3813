using System.Globalization;
using Pronto.Batch;
using Pronto.Batch.Input;
using Pronto.Core.Errors;
using Pronto.Models.Tabular;

namespace Pronto.Cli.Finetune;

/// <summary>
/// <c>pronto train --data</c>: a CSV / JSONL / Parquet table read by the batch job's readers, the label column and
/// numeric feature columns (all the others, or <c>--features</c>). Numbers, booleans (1/0) and numeric text (CSV)
/// are features; an empty or non-numeric value is an error naming its row and column.
/// </summary>
internal static class TabularFile
{
    public static async Task<TabularData> LoadAsync(string path, string labelColumn, IReadOnlyList<string>? featureColumns, CancellationToken cancellationToken)
    {
        var full = Path.GetFullPath(path);
        if (!File.Exists(full) && !Directory.Exists(full))
        {
            ProntoErrors.InvalidArgument($"data file '{full}' does not exist");
        }

        if (File.Exists(full) && new FileInfo(full).Length == 0)
        {
            ProntoErrors.InvalidArgument($"data file '{full}' is empty");
        }

        var source = await InputSource.OpenAsync(full, 1 << 20, cancellationToken);
        var label = FinetuneData.Find(source, labelColumn, "--label", full);
        var names = featureColumns ?? [.. source.Columns.Select(c => c.Name).Where(n => n != labelColumn)];
        if (names.Count == 0)
        {
            ProntoErrors.InvalidArgument($"'{full}' has no feature column besides the label '{labelColumn}'");
        }

        if (names.Contains(labelColumn, StringComparer.Ordinal))
        {
            ProntoErrors.InvalidArgument($"--features lists the label column '{labelColumn}'");
        }

        var columns = names.Select(n => FinetuneData.Find(source, n, "--features", full)).ToArray();
        var features = new List<float[]>();
        var labels = new List<string>();
        var sources = new List<string>();
        await foreach (var row in source.ReadRowsAsync(cancellationToken))
        {
            var where = $"row {row.Number.ToString(CultureInfo.InvariantCulture)} of '{full}'";
            if (row.Error is not null)
            {
                ProntoErrors.InvalidArgument($"{where}: {row.Error}");
            }

            var vector = new float[columns.Length];
            for (var j = 0; j < columns.Length; j++)
            {
                vector[j] = TableValues.Feature(row.Values[columns[j]], where, names[j]);
            }

            labels.Add(TableValues.Label(row.Values[label], where, labelColumn));
            features.Add(vector);
            sources.Add(where);
        }

        return features.Count > 0 ? new TabularData(names, features, labels, sources) : ProntoErrors.InvalidArgument<TabularData>($"data file '{full}' holds no rows");
    }
}
