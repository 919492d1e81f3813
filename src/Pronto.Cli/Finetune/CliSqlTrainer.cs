using System.Globalization;
using System.Text;
using Pronto.Core.Configuration;
using Pronto.Core.Errors;
using Pronto.Core.Inference;
using Pronto.Core.Repository;
using Pronto.Models.Finetune;
using Pronto.Models.Tabular;
using Pronto.Sql;

namespace Pronto.Cli.Finetune;

/// <summary>
/// <c>pronto sql</c>'s trainer for <c>pronto_train</c>: a query's rows into <c>pronto finetune</c>'s examples (first
/// column texts, or images as BLOBs or paths) or <c>pronto train</c>'s table (every column but the label a feature),
/// written into the session's repository. Rows are numbered from 0 in errors.
/// </summary>
internal sealed class CliSqlTrainer : ISqlTrainer
{
    public SqlTraining Train(string model, string how, IReadOnlyList<string> columns, IReadOnlyList<object?[]> rows, InferenceService service)
    {
        ArgumentNullException.ThrowIfNull(columns);
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(service);
        var label = columns.Count - 1;
        string Where(int i) => string.Create(CultureInfo.InvariantCulture, $"row {i} of the query");
        if (how is TabularOptions.Classification or TabularOptions.Regression)
        {
            var data = new TabularData(
                [.. columns.Take(label)],
                [.. rows.Select((r, i) => Enumerable.Range(0, label).Select(j => TableValues.Feature(r[j], Where(i), columns[j])).ToArray())],
                [.. rows.Select((r, i) => TableValues.Label(r[label], Where(i), columns[label]))],
                [.. rows.Select((_, i) => Where(i))]);
            var trained = TabularTrainer.Train(data, new TabularOptions { Name = model, Task = how }, service.Repository.Root);
            var r = trained.Report;
            return new SqlTraining(model, r.Version, r.Promotion!.Promoted, r.Promotion.Reason, r.Metric, r.MetricValue, r.ToJson());
        }

        var configPath = Path.Combine(service.Repository.Root, how, ModelRepository.ConfigFileName);
        if (!File.Exists(configPath))
        {
            ProntoErrors.InvalidArgument($"'{how}' is neither classification, regression nor a base model in the repository {service.Repository.Root}");
        }

        var images = ModelConfigText.Parse(File.ReadAllText(configPath), how).Parameters.GetValueOrDefault(ProntoParameters.Prepare) == "image";
        if (label != 1)
        {
            ProntoErrors.InvalidArgument($"fine-tuning {how} takes two columns, the {(images ? "image" : "text")} then the label; the query gives {columns.Count}");
        }

        var examples = rows.Select((r, i) => new FinetuneExample(Item(r[0], images, Where(i), columns[0]), TableValues.Label(r[1], Where(i), columns[1]), Where(i))).ToList();
        var result = Finetuner.Run(service, new FinetuneOptions { Name = model, BaseModel = how }, examples);
        var report = result.Report;
        return new SqlTraining(model, report.Version, report.Promotion!.Promoted, report.Promotion.Reason, "macro_f1", report.MacroF1, report.ToJson());
    }

    private static ReadOnlyMemory<byte> Item(object? value, bool images, string where, string column) => (value, images) switch
    {
        (string text, false) => Encoding.UTF8.GetBytes(text),
        (byte[] bytes, true) => bytes,
        (string path, true) => File.Exists(path) ? File.ReadAllBytes(path) : ProntoErrors.InvalidArgument<byte[]>($"{where}: image '{path}' does not exist"),
        (null, _) => ProntoErrors.InvalidArgument<byte[]>($"{where}: '{column}' is NULL"),
        _ => ProntoErrors.InvalidArgument<byte[]>($"{where}: '{column}' must be {(images ? "a BLOB or an image path" : "text")}"),
    };
}
