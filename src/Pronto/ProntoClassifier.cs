using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Pronto;

/// <summary>
/// A typed classifier over a Pronto classification model (pronto.produce classify): fields (a JSON object of the
/// model's named features, e.g. fraud) or text (a tuned text classifier) in, labels with probabilities out, through
/// the same request the server's infer endpoint runs.
/// </summary>
public sealed class ProntoClassifier
{
    private readonly ProntoInference _inference;
    private readonly string _input;
    private string[]? _labels;

    /// <param name="labels">The labels when known (in-process); null: learnt from the server with the first classification.</param>
    internal ProntoClassifier(ProntoInference inference, string model, string input, string[]? labels)
    {
        _inference = inference;
        Model = model;
        _input = input;
        _labels = labels;
    }

    public string Model { get; }

    /// <summary>
    /// The model's class labels, in its output's order (an index when the model has no label file). A remote
    /// classifier learns them from the server with its first classification (OIP v2 has no call that lists them);
    /// until then they are empty.
    /// </summary>
    public IReadOnlyList<string> Labels => _labels ?? [];

    /// <summary>Classifies one item of named fields (a fields model): the names its config lists, numeric values.</summary>
    public async Task<ProntoClassification> ClassifyAsync(IReadOnlyDictionary<string, double> fields, CancellationToken cancellationToken = default) =>
        (await ClassifyAsync([fields], cancellationToken).ConfigureAwait(false))[0];

    /// <summary>Classifies items of named fields as one batch, in the order given.</summary>
    public Task<IReadOnlyList<ProntoClassification>> ClassifyAsync(IReadOnlyList<IReadOnlyDictionary<string, double>> items, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(items);
        var json = new ReadOnlyMemory<byte>[items.Count];
        for (var i = 0; i < json.Length; i++)
        {
            json[i] = JsonSerializer.SerializeToUtf8Bytes(items[i], ProntoJson.Default.IReadOnlyDictionaryStringDouble);
        }

        return RunAsync("fields", json, cancellationToken);
    }

    /// <summary>Classifies one text (a text classification model).</summary>
    public async Task<ProntoClassification> ClassifyAsync(string text, CancellationToken cancellationToken = default) =>
        (await ClassifyAsync([text], cancellationToken).ConfigureAwait(false))[0];

    /// <summary>Classifies texts as one batch, in the order given.</summary>
    public Task<IReadOnlyList<ProntoClassification>> ClassifyAsync(IReadOnlyList<string> texts, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(texts);
        var items = new ReadOnlyMemory<byte>[texts.Count];
        for (var i = 0; i < items.Length; i++)
        {
            items[i] = Encoding.UTF8.GetBytes(texts[i]);
        }

        return RunAsync("text", items, cancellationToken);
    }

    private async Task<IReadOnlyList<ProntoClassification>> RunAsync(string input, ReadOnlyMemory<byte>[] items, CancellationToken cancellationToken)
    {
        if (input != _input)
        {
            throw new ArgumentException($"model '{Model}' classifies {_input}, not {input}");
        }

        if (items.Length == 0)
        {
            return [];
        }

        var (_, probabilities) = await _inference.RunAsync(Model, input, items, "probabilities", cancellationToken).ConfigureAwait(false);
        var classes = probabilities.Length / items.Length;
        var labels = _labels ??= await _inference.LabelsAsync(Model, input, items[..1], "probabilities", classes, cancellationToken).ConfigureAwait(false);
        var result = new ProntoClassification[items.Length];
        for (var i = 0; i < result.Length; i++)
        {
            var row = new ProntoClass[classes];
            var best = 0;
            for (var c = 0; c < classes; c++)
            {
                row[c] = new ProntoClass(c < labels.Length ? labels[c] : c.ToString(CultureInfo.InvariantCulture), probabilities[(i * classes) + c]);
                if (row[c].Probability > row[best].Probability)
                {
                    best = c;
                }
            }

            result[i] = new ProntoClassification(row[best].Label, row[best].Probability, row);
        }

        return result;
    }
}
