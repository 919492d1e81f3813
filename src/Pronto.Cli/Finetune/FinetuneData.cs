using System.Globalization;
using System.Text;
using Pronto.Batch;
using Pronto.Batch.Input;
using Pronto.Core.Errors;
using Pronto.Models.Finetune;

namespace Pronto.Cli.Finetune;

/// <summary>
/// <c>pronto finetune --data</c>: a CSV / JSONL / Parquet file read by the batch job's readers (<see cref="InputSource"/>),
/// with a text or image-path column and a label column, or a folder of images with one subfolder per class (the
/// ImageFolder layout; the subfolder's name is the label). Image paths are relative to the table's folder.
/// </summary>
internal static class FinetuneData
{
    private static readonly string[] ImageExtensions = [".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp"];

    public static async Task<IReadOnlyList<FinetuneExample>> LoadAsync(string path, bool images, string itemColumn, string labelColumn, CancellationToken cancellationToken)
    {
        var full = Path.GetFullPath(path);
        if (Directory.Exists(full) && Directory.EnumerateDirectories(full).Any())
        {
            return images
                ? LoadImageFolder(full)
                : ProntoErrors.InvalidArgument<IReadOnlyList<FinetuneExample>>($"'{full}' is a folder of subfolders (the image layout); a text base model needs a CSV, JSONL or Parquet file");
        }

        if (File.Exists(full) && new FileInfo(full).Length == 0)
        {
            ProntoErrors.InvalidArgument($"data file '{full}' is empty");
        }

        var source = await InputSource.OpenAsync(full, 1 << 20, cancellationToken);
        var item = Find(source, itemColumn, images ? "--image-column" : "--text-column", full);
        var label = Find(source, labelColumn, "--label-column", full);
        if (source.Columns[label].Kind is not (ColumnKind.String or ColumnKind.Int64))
        {
            ProntoErrors.InvalidArgument($"label column '{labelColumn}' holds {source.Columns[label].Kind} values; labels must be strings or integers");
        }

        var folder = Path.GetDirectoryName(source.Files[0])!;
        var examples = new List<FinetuneExample>();
        await foreach (var row in source.ReadRowsAsync(cancellationToken))
        {
            var where = $"row {row.Number.ToString(CultureInfo.InvariantCulture)}";
            if (row.Error is not null)
            {
                ProntoErrors.InvalidArgument($"{where} of '{full}': {row.Error}");
            }

            var labelText = row.Values[label] switch
            {
                string s when s.Length > 0 => s,
                long l => l.ToString(CultureInfo.InvariantCulture),
                null => ProntoErrors.InvalidArgument<string>($"{where}: label column '{labelColumn}' is empty"),
                var other => ProntoErrors.InvalidArgument<string>($"{where}: label '{other}' is not a string or an integer"),
            };
            if (row.Values[item] is not string value)
            {
                ProntoErrors.InvalidArgument($"{where}: column '{itemColumn}' must hold {(images ? "an image path" : "text")}, got {row.Values[item]?.GetType().Name ?? "null"}");
                return [];
            }

            if (images)
            {
                var imagePath = Path.GetFullPath(Path.Combine(folder, value));
                examples.Add(new FinetuneExample(ReadImage(imagePath), labelText, $"'{imagePath}' ({where})"));
            }
            else
            {
                examples.Add(new FinetuneExample(Encoding.UTF8.GetBytes(value), labelText, where));
            }
        }

        return examples.Count > 0 ? examples : ProntoErrors.InvalidArgument<IReadOnlyList<FinetuneExample>>($"data file '{full}' holds no rows");
    }

    internal static int Find(InputSource source, string name, string option, string path)
    {
        for (var c = 0; c < source.Columns.Count; c++)
        {
            if (source.Columns[c].Name == name)
            {
                return c;
            }
        }

        return ProntoErrors.InvalidArgument<int>($"'{path}' has no column '{name}' (columns: {string.Join(", ", source.Columns.Select(c => c.Name))}); name it with {option}");
    }

    private static List<FinetuneExample> LoadImageFolder(string root)
    {
        var examples = new List<FinetuneExample>();
        foreach (var classDir in Directory.EnumerateDirectories(root).Order(StringComparer.Ordinal))
        {
            var label = Path.GetFileName(classDir);
            foreach (var file in Directory.EnumerateFiles(classDir).Where(f => ImageExtensions.Contains(Path.GetExtension(f).ToLowerInvariant())).Order(StringComparer.Ordinal))
            {
                examples.Add(new FinetuneExample(ReadImage(file), label, $"'{file}'"));
            }
        }

        return examples.Count > 0 ? examples : ProntoErrors.InvalidArgument<List<FinetuneExample>>($"image folder '{root}' holds no images ({string.Join(", ", ImageExtensions)}) in its class subfolders");
    }

    private static byte[] ReadImage(string path)
    {
        try
        {
            return File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return ProntoErrors.InvalidArgument<byte[]>($"unreadable image '{path}': {e.Message}");
        }
    }
}
