using Pronto.Core.Configuration;

namespace Pronto.Core.Backends;

/// <summary>
/// An inference engine that can load model files of one platform (ONNX Runtime for
/// <c>onnxruntime_onnx</c>). Only the backend's own assembly touches the engine's types.
/// </summary>
public interface IModelBackend
{
    /// <summary>The platform name in config.pbtxt this backend serves, e.g. <c>onnxruntime_onnx</c>.</summary>
    string Platform { get; }

    /// <summary>The default model file name in a version folder, e.g. <c>model.onnx</c>.</summary>
    string DefaultModelFilename { get; }

    /// <summary>True when this backend serves a config's platform or backend name.</summary>
    bool Accepts(ModelConfig config);

    /// <summary>
    /// Reads the model file and derives a config from it: input and output names, types and shapes
    /// (-1 for dynamic axes; a dynamic leading axis on every tensor becomes the batch dimension).
    /// </summary>
    ModelConfig DeriveConfig(string name, string modelPath);

    /// <summary>
    /// Loads the model file, checks it against <paramref name="config"/> and returns a ready instance. A backend
    /// may run an implicit warm-up of its own when the config has no <c>model_warmup</c> samples (the repository
    /// runs those); that warm-up's failure is logged, never a load failure, as a model the engine loaded is READY.
    /// Throws <see cref="Errors.ProntoException"/> with the engine's message on failure.
    /// The caller owns the returned instance and disposes it on unload.
    /// </summary>
    IModelInstance Load(ModelConfig config, string modelPath, CancellationToken cancellationToken);
}
