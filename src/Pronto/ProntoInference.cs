using Pronto.Core.Inference;
using Pronto.Core.Tensors;

namespace Pronto;

/// <summary>
/// How the facade's typed clients reach a model: one request of BYTES items (texts, JSON rows) into a named input,
/// one FP32 output back. <see cref="LocalInference"/> runs it in this process; <see cref="Remote.GrpcInference"/>
/// sends it to a Pronto server over OIP v2 gRPC. The typed clients above it are the same code either way.
/// </summary>
internal abstract class ProntoInference
{
    /// <summary>The values (row-major) of <paramref name="output"/> for <paramref name="items"/>, and the model that answered.</summary>
    public abstract Task<(string Model, float[] Values)> RunAsync(string model, string input, ReadOnlyMemory<byte>[] items, string output, CancellationToken cancellationToken);

    /// <summary>The label of each of <paramref name="classes"/> classes of <paramref name="output"/>, by index.</summary>
    public abstract Task<string[]> LabelsAsync(string model, string input, ReadOnlyMemory<byte>[] items, string output, int classes, CancellationToken cancellationToken);
}

/// <summary>In-process: the request goes through the runtime's <see cref="InferenceService"/> (the server's own path).</summary>
internal sealed class LocalInference(ProntoRuntime runtime) : ProntoInference
{
    public override async Task<(string Model, float[] Values)> RunAsync(string model, string input, ReadOnlyMemory<byte>[] items, string output, CancellationToken cancellationToken)
    {
        var response = await runtime.PredictAsync(new InferenceRequest
        {
            ModelName = model,
            Inputs = [new NamedTensor(input, Tensor.FromStrings(items, items.Length))],
            Outputs = [new RequestedOutput(output)],
        }, cancellationToken).ConfigureAwait(false);
        return (response.ModelName, response.Outputs[0].Tensor.ToArray<float>());
    }

    /// <summary>Never needed in-process: the labels are read from the model's processing when the classifier is made.</summary>
    public override Task<string[]> LabelsAsync(string model, string input, ReadOnlyMemory<byte>[] items, string output, int classes, CancellationToken cancellationToken) =>
        throw new InvalidOperationException("an in-process classifier knows its labels");
}
