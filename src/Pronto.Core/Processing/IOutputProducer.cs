using Pronto.Core.Inference;

namespace Pronto.Core.Processing;

/// <summary>
/// The last step of an inference: turns the model's raw outputs into the result a user wants
/// (a normalized embedding, class probabilities).
/// </summary>
public interface IOutputProducer
{
    /// <summary>The output this producer makes, e.g. <c>embedding</c> or <c>probabilities</c>.</summary>
    string OutputName { get; }

    /// <summary>The raw model output it reads.</summary>
    string SourceOutput { get; }

    /// <summary>The produced output's dims as config.pbtxt writes them: without the batch dimension when the model batches, -1 where variable.</summary>
    IReadOnlyList<long> Dims { get; }

    /// <summary>Class labels of the produced output, when it holds class scores.</summary>
    IReadOnlyList<string>? Labels { get; }

    /// <summary>Makes the produced output from the model's inputs (an attention mask, say) and its raw output.</summary>
    NamedTensor Produce(IReadOnlyList<NamedTensor> modelInputs, NamedTensor rawOutput);
}
