using System.Runtime.InteropServices;
using Pronto.Core.Configuration;
using Pronto.Core.Errors;
using Pronto.Core.Inference;
using Pronto.Core.Tensors;
using SkiaSharp;

namespace Pronto.Core.Processing;

/// <summary>
/// Encoded image (PNG, JPEG, WebP, GIF, BMP) -> decoded, resized, normalized NCHW FP32 tensor.
/// Resizing keeps the aspect ratio and crops the centre (<c>pronto.image.resize: crop</c>, ML.NET's IsoCrop)
/// or stretches (<c>stretch</c>). Each channel value is <c>(pixel * scale - mean) / std</c>, with the mean
/// per channel or per pixel (<c>pronto.image.mean_file</c>: a raw little-endian FP32 CHW image).
/// </summary>
internal sealed class ImagePreparer : IInputPreparer
{
    private readonly string _input;
    private readonly int _width;
    private readonly int _height;
    private readonly bool _crop;
    private readonly bool _bgr;
    private readonly float _scale;
    private readonly float[] _mean;
    private readonly float[] _std;
    private readonly float[]? _meanImage;
    private readonly long _maxPixels;

    /// <summary>Decoded pixels an image may declare when the config sets no <c>pronto.image.max_pixels</c>: 50 megapixels (200 MB decoded).</summary>
    public const int DefaultMaxPixels = 50_000_000;

    private ImagePreparer(string input, int width, int height, bool crop, bool bgr, float scale, float[] mean, float[] std, float[]? meanImage, long maxPixels)
    {
        _maxPixels = maxPixels;
        _input = input;
        _width = width;
        _height = height;
        _crop = crop;
        _bgr = bgr;
        _scale = scale;
        _mean = mean;
        _std = std;
        _meanImage = meanImage;
    }

    public string InputName => "image";

    public string ItemDescription => "encoded image (PNG, JPEG, WebP, GIF, BMP)";

    public static ImagePreparer Create(ProcessingParameters p, string modelDirectory)
    {
        var input = p.Input(p.Get(ProntoParameters.ImageInput) ?? p.Config.Inputs[0].Name);
        var dims = input.Dims;

        // NCHW: the last two dims are height and width; with max_batch_size 0 the first dim is the batch.
        var rank = dims.Length + (p.Config.MaxBatchSize > 0 ? 1 : 0);
        if (input.DataType != DataType.FP32 || rank != 4 || dims[^3] != 3)
        {
            ProntoErrors.InvalidArgument($"model '{p.Config.Name}': image preparation needs an FP32 NCHW input with 3 channels; '{input.Name}' is {input.DataType.ToProtocolName()} [{string.Join(",", dims)}]");
        }

        var height = Side(p, ProntoParameters.ImageHeight, dims[^2], input.Name);
        var width = Side(p, ProntoParameters.ImageWidth, dims[^1], input.Name);
        var mean = p.GetFloats(ProntoParameters.ImageMean) ?? [0f, 0f, 0f];
        var std = p.GetFloats(ProntoParameters.ImageStd) ?? [1f, 1f, 1f];
        if (mean.Length != 3 || std.Length != 3 || Array.Exists(std, s => s == 0f))
        {
            ProntoErrors.InvalidArgument($"model '{p.Config.Name}': pronto.image.mean and pronto.image.std need three values each, std non-zero");
        }

        float[]? meanImage = null;
        if (p.Get(ProntoParameters.ImageMeanFile) is { } meanFile)
        {
            var bytes = File.ReadAllBytes(ModelProcessing.ResolveFile(p.Config, modelDirectory, meanFile));
            if (bytes.Length != 3 * width * height * sizeof(float))
            {
                ProntoErrors.InvalidArgument($"model '{p.Config.Name}': {meanFile} holds {bytes.Length} bytes; a 3x{height}x{width} FP32 image is {3 * width * height * sizeof(float)}");
            }

            meanImage = MemoryMarshal.Cast<byte, float>(bytes).ToArray();
        }

        var resize = p.Get(ProntoParameters.ImageResize) ?? "crop";
        var order = p.Get(ProntoParameters.ImageChannelOrder) ?? "RGB";
        if (resize is not ("crop" or "stretch") || order is not ("RGB" or "BGR"))
        {
            ProntoErrors.InvalidArgument($"model '{p.Config.Name}': pronto.image.resize is crop or stretch, pronto.image.channel_order RGB or BGR");
        }

        var scale = p.GetFloats(ProntoParameters.ImageScale) switch
        {
            null => 1f,
            [var s] => s,
            _ => ProntoErrors.InvalidArgument<float>($"model '{p.Config.Name}': config parameter '{ProntoParameters.ImageScale}' must be one number, got '{p.Get(ProntoParameters.ImageScale)}'"),
        };
        var maxPixels = p.GetInt(ProntoParameters.ImageMaxPixels, DefaultMaxPixels);
        if (maxPixels < 1)
        {
            ProntoErrors.InvalidArgument($"model '{p.Config.Name}': config parameter '{ProntoParameters.ImageMaxPixels}' must be a positive number of pixels, got '{p.Get(ProntoParameters.ImageMaxPixels)}'");
        }

        return new ImagePreparer(input.Name, width, height, resize == "crop", order == "BGR", scale, mean, std, meanImage, maxPixels);
    }

    /// <summary>A fixed dimension of the input is the size; a variable one takes the parameter (224 by default), which must not contradict a fixed one.</summary>
    private static int Side(ProcessingParameters p, string key, long dim, string inputName)
    {
        if (dim <= 0)
        {
            return p.GetInt(key, 224);
        }

        if (p.Get(key) is not null && p.GetInt(key, 0) != dim)
        {
            ProntoErrors.InvalidArgument($"model '{p.Config.Name}': config parameter '{key}' is {p.Get(key)}, but input '{inputName}' fixes it at {dim}");
        }

        return (int)dim;
    }

    public IReadOnlyList<NamedTensor> Prepare(Tensor items)
    {
        var images = PreparerItems.Read(items, InputName);
        var plane = _width * _height;
        var values = new float[images.Count * 3 * plane];
        using var bitmap = new SKBitmap(new SKImageInfo(_width, _height, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        using var canvas = new SKCanvas(bitmap);
        using var paint = new SKPaint();
        var sampling = new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.Linear);
        for (var i = 0; i < images.Count; i++)
        {
            using var image = Decode(images[i], i);
            canvas.Clear(SKColors.Black);
            canvas.DrawImage(image, SourceRect(image.Width, image.Height), new SKRect(0, 0, _width, _height), sampling, paint);
            canvas.Flush();
            WritePlanes(bitmap.GetPixelSpan(), values.AsSpan(i * 3 * plane, 3 * plane));
        }

        return [new NamedTensor(_input, Tensor.Create(values, images.Count, 3, _height, _width))];
    }

    /// <summary>
    /// Decodes element <paramref name="index"/> whole and upright (its EXIF orientation applied, as SkImage's lazy decode
    /// does). The codec, unlike a lazy decode, says when the file ends early: a truncated image is a 400, not scored
    /// with its missing rows left blank.
    /// </summary>
    private SKImage Decode(ReadOnlyMemory<byte> encoded, int index)
    {
        if (encoded.IsEmpty)
        {
            ProntoErrors.InvalidArgument($"input 'image' element {index}: empty image (0 bytes); expected {ItemDescription}");
        }

        using var data = SKData.CreateCopy(encoded.Span);
        using var codec = SKCodec.Create(data);
        if (codec is null)
        {
            ProntoErrors.InvalidArgument($"input 'image' element {index} ({encoded.Length} bytes) is not a decodable image; expected {ItemDescription}");
        }

        // The header's size, before any pixel is decoded: a small file may declare a huge image.
        var (w, h) = (codec.Info.Width, codec.Info.Height);
        if ((long)w * h > _maxPixels)
        {
            ProntoErrors.InvalidArgument($"input 'image' element {index} is {w}x{h} ({(long)w * h} pixels); this model decodes at most {_maxPixels} pixels per image ({ProntoParameters.ImageMaxPixels}): send a smaller image");
        }

        var info = codec.Info.WithColorType(SKColorType.Rgba8888).WithAlphaType(codec.Info.AlphaType == SKAlphaType.Opaque ? SKAlphaType.Opaque : SKAlphaType.Premul);
        var bitmap = new SKBitmap(info);
        try
        {
            var result = codec.GetPixels(info, bitmap.GetPixels());
            if (result != SKCodecResult.Success)
            {
                ProntoErrors.InvalidArgument(result == SKCodecResult.IncompleteInput
                    ? $"input 'image' element {index} ({encoded.Length} bytes) is a truncated {codec.EncodedFormat.ToString().ToUpperInvariant()} image"
                    : $"input 'image' element {index} ({encoded.Length} bytes) could not be decoded ({result}); expected {ItemDescription}");
            }

            bitmap = Upright(bitmap, codec.EncodedOrigin);
            bitmap.SetImmutable();
            return SKImage.FromBitmap(bitmap);
        }
        finally
        {
            // An immutable bitmap's pixels are shared with the image, which keeps them alive.
            bitmap.Dispose();
        }
    }

    /// <summary>The decoded pixels turned as the file's origin says (Skia's SkEncodedOriginToMatrix); most images need nothing.</summary>
    private static SKBitmap Upright(SKBitmap decoded, SKEncodedOrigin origin)
    {
        if (origin is SKEncodedOrigin.TopLeft)
        {
            return decoded;
        }

        float w = decoded.Width, h = decoded.Height;
        var matrix = origin switch
        {
            SKEncodedOrigin.TopRight => new SKMatrix(-1, 0, w, 0, 1, 0, 0, 0, 1),
            SKEncodedOrigin.BottomRight => new SKMatrix(-1, 0, w, 0, -1, h, 0, 0, 1),
            SKEncodedOrigin.BottomLeft => new SKMatrix(1, 0, 0, 0, -1, h, 0, 0, 1),
            SKEncodedOrigin.LeftTop => new SKMatrix(0, 1, 0, 1, 0, 0, 0, 0, 1),
            SKEncodedOrigin.RightTop => new SKMatrix(0, -1, h, 1, 0, 0, 0, 0, 1),
            SKEncodedOrigin.RightBottom => new SKMatrix(0, -1, h, -1, 0, w, 0, 0, 1),
            _ => new SKMatrix(0, 1, 0, -1, 0, w, 0, 0, 1), // LeftBottom
        };
        var swaps = origin is SKEncodedOrigin.LeftTop or SKEncodedOrigin.RightTop or SKEncodedOrigin.RightBottom or SKEncodedOrigin.LeftBottom;
        var upright = new SKBitmap(decoded.Info.WithSize(swaps ? decoded.Height : decoded.Width, swaps ? decoded.Width : decoded.Height));
        using (var canvas = new SKCanvas(upright))
        {
            canvas.SetMatrix(matrix);
            canvas.DrawBitmap(decoded, 0, 0, SKSamplingOptions.Default); // whole-pixel turns: nothing to filter
        }

        decoded.Dispose();
        return upright;
    }

    private SKRect SourceRect(int width, int height)
    {
        if (!_crop)
        {
            return new SKRect(0, 0, width, height);
        }

        // Scale so the shorter side fits, then take the centre: no distortion, edges cropped.
        var scale = Math.Max((float)_width / width, (float)_height / height);
        var w = _width / scale;
        var h = _height / scale;
        var x = (width - w) / 2f;
        var y = (height - h) / 2f;
        return new SKRect(x, y, x + w, y + h);
    }

    private void WritePlanes(ReadOnlySpan<byte> rgba, Span<float> chw)
    {
        var plane = _width * _height;
        for (var c = 0; c < 3; c++)
        {
            var source = _bgr ? 2 - c : c;
            var mean = _mean[c];
            var inverseStd = 1f / _std[c];
            var output = chw.Slice(c * plane, plane);
            var meanPlane = _meanImage is null ? default : _meanImage.AsSpan(c * plane, plane);
            for (var p = 0; p < plane; p++)
            {
                var v = rgba[(p * 4) + source] * _scale;
                v -= meanPlane.IsEmpty ? mean : meanPlane[p];
                output[p] = v * inverseStd;
            }
        }
    }
}
