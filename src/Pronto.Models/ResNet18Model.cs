using System.Runtime.InteropServices;
using Pronto.Core.Configuration;
using Pronto.Core.Inference;
using Pronto.Core.Tensors;
using Pronto.Onnx;

namespace Pronto.Models;

/// <summary>
/// ResNet18 image features (MIT) from the Microsoft.ML.DnnImageFeaturizer.ResNet18 package: an image in,
/// its 512-d feature vector (the global-average-pool output, no ImageNet head) out.
/// </summary>
/// <remarks>
/// The package pairs the network with ResNetPreprocess.onnx, which subtracts a per-pixel mean image from
/// RGB pixels in 0..255 (checked: output = input - constant, slope 1). Pronto runs that step in its image
/// preparation instead: the mean image is read once by running the preprocessing model on zeros and saved
/// as mean_image.bin. The network's batch axis, fixed to 1 in the package, is made dynamic so requests batch.
/// </remarks>
internal static class ResNet18Model
{
    public const string Name = "resnet18";
    private const int Side = 224;

    public static ModelConfig Build(string directory)
    {
        var network = ZooPaths.ResNetFile(Path.Combine("ResNet18Onnx", "ResNet18.onnx"));
        var preprocess = ZooPaths.ResNetFile(Path.Combine("ResNetPrepOnnx", "ResNetPreprocess.onnx"));
        if (!File.Exists(network) || !File.Exists(preprocess))
        {
            throw new FileNotFoundException($"ResNet18 files are missing beside the assemblies ({network}); is the Microsoft.ML.DnnImageFeaturizer.ResNet18 package restored?");
        }

        var model = Onnx.OnnxModelEditor.Load(network);
        Onnx.OnnxModelEditor.SetBatchDimension(model, "batch");

        // Intermediate shape hints still say batch 1; without them ORT infers shapes from the new input.
        Onnx.OnnxModelEditor.ClearValueInfo(model.Graph);
        Onnx.OnnxModelEditor.Save(model, Path.Combine(directory, "1", "model.onnx"));
        File.WriteAllBytes(Path.Combine(directory, "mean_image.bin"), MeanImage(preprocess));

        var config = new ModelConfig
        {
            Name = Name,
            Platform = ModelConfig.OnnxPlatform,
            MaxBatchSize = 32,
            Inputs = { new TensorConfig { Name = "Input247", DataType = DataType.FP32, Dims = [3, Side, Side] } },
            Outputs = { new TensorConfig { Name = "Pooling395_Output_0", DataType = DataType.FP32, Dims = [512, 1, 1] } },
        };
        config.Parameters["pronto.prepare"] = "image";
        config.Parameters["pronto.image.resize"] = "crop";
        config.Parameters["pronto.image.channel_order"] = "RGB";
        config.Parameters["pronto.image.scale"] = "1";
        config.Parameters["pronto.image.mean_file"] = "mean_image.bin";
        config.Parameters["pronto.produce"] = "embedding";
        config.Parameters["pronto.embedding.output"] = "Pooling395_Output_0";
        config.Parameters["pronto.embedding.pooling"] = "none";
        config.Parameters["pronto.embedding.normalize"] = "false";
        return config;
    }

    /// <summary>The preprocessing model computes <c>x - mean</c>; run on zeros it yields <c>-mean</c>.</summary>
    private static byte[] MeanImage(string preprocessPath)
    {
        var backend = new OnnxBackend(new OnnxBackendOptions { WarmupRuns = 0 });
        var config = backend.DeriveConfig("resnet-preprocess", preprocessPath);
        using var instance = backend.Load(config, preprocessPath, CancellationToken.None);
        var zeros = Tensor.Create(new float[3 * Side * Side], 1, 3, Side, Side);
        var output = instance.Run([new NamedTensor(config.Inputs[0].Name, zeros)], [config.Outputs[0].Name], CancellationToken.None)[0].Tensor;
        var mean = output.ToArray<float>();
        for (var i = 0; i < mean.Length; i++)
        {
            mean[i] = -mean[i];
        }

        return MemoryMarshal.AsBytes(mean.AsSpan()).ToArray();
    }
}
