using Pronto.Core.Errors;
using Pronto.Core.Processing;

namespace Pronto;

/// <summary>What the facade needs from a loaded model's processing, read once under a lease.</summary>
internal static class ProntoModel
{
    /// <summary>The model's processing; a clear error when it does not take <paramref name="input"/> or produce <paramref name="output"/>.</summary>
    public static ModelProcessing Processing(ProntoRuntime runtime, string model, string[] inputs, string output, string use)
    {
        using var lease = runtime.Repository.Acquire(model);
        var processing = lease.Model.Processing;
        if (processing.Preparer is not { } preparer || Array.IndexOf(inputs, preparer.InputName) < 0
            || processing.Producer?.OutputName != output)
        {
            ProntoErrors.InvalidArgument($"model '{model}' is not {use}: it takes {processing.Preparer?.InputName ?? "raw tensors"} "
                + $"and produces {processing.Producer?.OutputName ?? "raw tensors"}; {use} needs {string.Join(" or ", inputs)} in, {output} out");
        }

        return processing;
    }
}
