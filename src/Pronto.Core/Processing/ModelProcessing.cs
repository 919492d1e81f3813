using Pronto.Core.Configuration;
using Pronto.Core.Errors;

namespace Pronto.Core.Processing;

/// <summary>
/// A model's processing, declared next to it in config.pbtxt so the server, batch jobs, SQL and the CLI all
/// reuse the same steps: <c>pronto.prepare</c> (text | image | fields) and <c>pronto.produce</c>
/// (embedding | classify), each with its own <c>pronto.*</c> parameters (docs/model-repository.md).
/// Label files named by outputs' <c>label_filename</c> are read here too.
/// </summary>
public sealed class ModelProcessing
{
    public const string PrepareKey = ProntoParameters.Prepare;
    public const string ProduceKey = ProntoParameters.Produce;

    private readonly Dictionary<string, IReadOnlyList<string>> _labels;

    private ModelProcessing(IInputPreparer? preparer, IOutputProducer? producer, Dictionary<string, IReadOnlyList<string>> labels)
    {
        Preparer = preparer;
        Producer = producer;
        _labels = labels;
    }

    /// <summary>Processing of a model that declares none: raw tensors in and out.</summary>
    public static ModelProcessing None { get; } = new(null, null, []);

    public IInputPreparer? Preparer { get; }

    public IOutputProducer? Producer { get; }

    /// <summary>Class labels of an output (from its label file, or from the producer), or null.</summary>
    public IReadOnlyList<string>? GetLabels(string outputName)
    {
        if (Producer is not null && Producer.OutputName == outputName && Producer.Labels is not null)
        {
            return Producer.Labels;
        }

        return _labels.TryGetValue(outputName, out var labels) ? labels : null;
    }

    /// <summary>Builds the processing a config declares; files it names are read from <paramref name="modelDirectory"/>.</summary>
    public static ModelProcessing Create(ModelConfig config, string modelDirectory)
    {
        var p = new ProcessingParameters(config);
        var labels = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        foreach (var output in config.Outputs)
        {
            if (output.LabelFilename is { } file)
            {
                labels[output.Name] = ReadLabels(config, modelDirectory, file);
            }
        }

        IInputPreparer? preparer = p.Get(PrepareKey) switch
        {
            null => null,
            "text" => TextPreparer.Create(p, modelDirectory),
            "image" => ImagePreparer.Create(p, modelDirectory),
            "fields" => FieldsPreparer.Create(p),
            var other => ProntoErrors.InvalidArgument<IInputPreparer>($"model '{config.Name}': {PrepareKey} '{other}' is not one of text, image, fields"),
        };

        IOutputProducer? producer = p.Get(ProduceKey) switch
        {
            null => null,
            "embedding" => EmbeddingProducer.Create(p),
            "classify" => ClassifyProducer.Create(p, labels),
            var other => ProntoErrors.InvalidArgument<IOutputProducer>($"model '{config.Name}': {ProduceKey} '{other}' is not one of embedding, classify"),
        };

        return preparer is null && producer is null && labels.Count == 0 ? None : new ModelProcessing(preparer, producer, labels);
    }

    internal static string ResolveFile(ModelConfig config, string modelDirectory, string fileName)
    {
        var path = Path.GetFullPath(Path.Combine(modelDirectory, fileName));
        if (!path.StartsWith(Path.GetFullPath(modelDirectory) + Path.DirectorySeparatorChar, StringComparison.Ordinal))
        {
            ProntoErrors.InvalidArgument($"model '{config.Name}': file '{fileName}' is outside the model's folder");
        }

        if (!File.Exists(path))
        {
            ProntoErrors.InvalidArgument($"model '{config.Name}': file '{fileName}' named in config.pbtxt does not exist in {modelDirectory}");
        }

        return path;
    }

    private static string[] ReadLabels(ModelConfig config, string modelDirectory, string fileName)
    {
        var lines = File.ReadAllLines(ResolveFile(config, modelDirectory, fileName));
        var count = lines.Length;
        while (count > 0 && lines[count - 1].Length == 0)
        {
            count--;
        }

        return lines[..count];
    }
}
