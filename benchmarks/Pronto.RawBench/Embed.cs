using System.Diagnostics;
using Pronto.Core.Inference;
using Pronto.Core.Tensors;

namespace Pronto.RawBench;

/// <summary>
/// The raw engine's side of the fine-tuning benchmark: the same items <c>pronto finetune</c> embeds, in the same order
/// and batches, prepared by the model's own preparer (tokenized, or decoded and resized) before the clock starts, then
/// run back to back. Rows/s here against the report's embedding rows/s is the share of the engine the command keeps.
/// </summary>
internal static class Embed
{
    private static readonly string[] ImageExtensions = [".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp"];

    public static Row Measure(RawModel model, string data, int batch, int threads, int passes)
    {
        var items = Items(data);
        var preparer = model.Model.Processing.Preparer
            ?? throw new ArgumentException($"model '{model.Model.Name}' has no text or image preparation: embed needs one");
        var batches = new List<IReadOnlyList<NamedTensor>>();
        for (var start = 0; start < items.Length; start += batch)
        {
            var slice = items[start..Math.Min(items.Length, start + batch)];
            batches.Add(preparer.Prepare(Tensor.FromStrings(slice, slice.Length)));
        }

        Console.Error.WriteLine($"{model.Model.Name}: {items.Length} items from {data} in {batches.Count} runs of up to {batch}; first {string.Join(", ", batches[0].Select(i => $"{i.Name} {i.Tensor}"))}");
        foreach (var inputs in batches)
        {
            model.Run(inputs); // warm-up: every shape once
        }

        var clock = Stopwatch.StartNew();
        for (var pass = 0; pass < passes; pass++)
        {
            foreach (var inputs in batches)
            {
                model.Run(inputs);
            }
        }

        var seconds = clock.Elapsed.TotalSeconds;
        return new Row("embed", model.Model.Name)
        {
            Threads = threads,
            Batch = batch,
            Runs = (long)batches.Count * passes,
            Seconds = seconds,
            RowsPerSecond = (double)items.Length * passes / seconds,
        };
    }

    /// <summary>
    /// A folder: images in <c>pronto finetune</c>'s ImageFolder order (class folders, then files, ordinal). A file:
    /// the text column of a <c>text,label</c> CSV without quoted fields, as <c>Pronto.ModelGen finetune-data</c> writes it.
    /// </summary>
    private static ReadOnlyMemory<byte>[] Items(string data)
    {
        if (Directory.Exists(data))
        {
            return [.. Directory.EnumerateDirectories(data).Order(StringComparer.Ordinal)
                .SelectMany(d => Directory.EnumerateFiles(d).Where(f => ImageExtensions.Contains(Path.GetExtension(f).ToLowerInvariant())).Order(StringComparer.Ordinal))
                .Select(f => (ReadOnlyMemory<byte>)File.ReadAllBytes(f))];
        }

        var lines = File.ReadAllLines(data);
        if (lines.Length < 2 || lines[0] != "text,label" || lines.Any(l => l.Contains('"', StringComparison.Ordinal)))
        {
            throw new ArgumentException($"{data}: expected a 'text,label' CSV without quoted fields (Pronto.ModelGen finetune-data writes one)");
        }

        return [.. lines.Skip(1).Where(l => l.Length > 0).Select(l => (ReadOnlyMemory<byte>)System.Text.Encoding.UTF8.GetBytes(l[..l.LastIndexOf(',')]))];
    }
}
