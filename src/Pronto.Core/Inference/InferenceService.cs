using System.Diagnostics;
using Pronto.Core.Errors;
using Pronto.Core.Processing;
using Pronto.Core.Repository;

namespace Pronto.Core.Inference;

/// <summary>
/// The one inference path every front end calls: lease the model, prepare raw items if the model declares
/// processing and the request sends them, validate, run, produce, apply the classification extension.
/// </summary>
public sealed class InferenceService(ModelRepository repository)
{
    public ModelRepository Repository { get; } = repository;

    public InferenceResponse Infer(InferenceRequest request, CancellationToken cancellationToken = default)
    {
        using var lease = Repository.Acquire(request.ModelName, request.ModelVersion);
        var model = lease.Model;
        var start = Stopwatch.GetTimestamp();
        try
        {
            return Infer(model, request, start, cancellationToken);
        }
        catch (Exception e)
        {
            model.Statistics.RecordFailure(ReasonOf(e), Stopwatch.GetTimestamp() - start);
            throw;
        }
    }

    private static InferenceResponse Infer(ServedModel model, InferenceRequest request, long start, CancellationToken cancellationToken)
    {
        var config = model.Config;
        var processing = model.Processing;

        var inputs = request.Inputs;
        var preparer = processing.Preparer;
        if (preparer is not null && inputs.Count == 1 && inputs[0].Name == preparer.InputName)
        {
            inputs = preparer.Prepare(inputs[0].Tensor);
        }
        else if (preparer is not null && FindByName(inputs, preparer.InputName) is not null)
        {
            ProntoErrors.InvalidArgument($"input '{preparer.InputName}' ({preparer.ItemDescription}) must be the request's only input");
        }

        InputValidator.Validate(config, inputs);

        var requested = request.Outputs.Count > 0 ? request.Outputs : DefaultOutputs(model);
        var producer = processing.Producer;
        var engineOutputs = new List<string>(requested.Count);
        foreach (var output in requested)
        {
            var name = producer is not null && output.Name == producer.OutputName ? producer.SourceOutput : output.Name;
            if (config.Outputs.Find(o => o.Name == name) is null)
            {
                ProntoErrors.InvalidArgument($"unknown output '{output.Name}' for model '{config.Name}'; its outputs are {string.Join(", ", OutputNames(model))}");
            }

            if (!engineOutputs.Contains(name))
            {
                engineOutputs.Add(name);
            }
        }

        var inferStart = Stopwatch.GetTimestamp();
        var raw = model.Instance.Run(inputs, engineOutputs, cancellationToken);
        var outputStart = Stopwatch.GetTimestamp();
        var outputs = new NamedTensor[requested.Count];
        for (var i = 0; i < requested.Count; i++)
        {
            var output = requested[i];
            NamedTensor tensor;
            if (producer is not null && output.Name == producer.OutputName)
            {
                tensor = producer.Produce(inputs, raw[engineOutputs.IndexOf(producer.SourceOutput)]);
            }
            else
            {
                tensor = raw[engineOutputs.IndexOf(output.Name)];
            }

            if (output.Classification > 0)
            {
                tensor = new NamedTensor(tensor.Name, Classification.ToTensor(tensor.Tensor, output.Classification, processing.GetLabels(tensor.Name)));
            }

            outputs[i] = tensor;
        }

        var end = Stopwatch.GetTimestamp();
        var batch = config.MaxBatchSize > 0 && inputs.Count > 0 && inputs[0].Tensor.Rank > 0 ? inputs[0].Tensor.Shape[0] : 1;
        model.Statistics.RecordSuccess(batch, end - start, 0, inferStart - start, outputStart - inferStart, end - outputStart);
        return new InferenceResponse { ModelName = model.Name, ModelVersion = model.VersionText, Id = request.Id, Outputs = outputs };
    }

    /// <summary>How a failure counts in the statistics.</summary>
    public static FailureReason ReasonOf(Exception e) => e switch
    {
        OperationCanceledException => FailureReason.Canceled,
        ProntoException { Code: ErrorCode.Unavailable } => FailureReason.Rejected,
        ProntoException { Code: ErrorCode.Internal } => FailureReason.Backend,
        ProntoException => FailureReason.Other,
        _ => FailureReason.Backend,
    };

    /// <summary>The produced output when the model declares one (an embedding, probabilities), else every raw output.</summary>
    public static IReadOnlyList<RequestedOutput> DefaultOutputs(ServedModel model)
    {
        if (model.Processing.Producer is { } producer)
        {
            return [new RequestedOutput(producer.OutputName)];
        }

        return [.. model.Config.Outputs.Select(o => new RequestedOutput(o.Name))];
    }

    /// <summary>The output names a request may ask for: the model's, plus the produced one.</summary>
    public static IEnumerable<string> OutputNames(ServedModel model)
    {
        var names = model.Config.Outputs.Select(o => o.Name);
        return model.Processing.Producer is { } p && !names.Contains(p.OutputName) ? names.Append(p.OutputName) : names;
    }

    private static NamedTensor? FindByName(IReadOnlyList<NamedTensor> inputs, string name)
    {
        foreach (var input in inputs)
        {
            if (input.Name == name)
            {
                return input;
            }
        }

        return null;
    }
}
