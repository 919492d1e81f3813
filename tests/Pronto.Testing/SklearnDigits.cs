using System.Globalization;
using System.IO.Compression;
using SkiaSharp;

namespace Pronto.Testing;

/// <summary>
/// scikit-learn's handwritten digits (Debian's python3-sklearn: 1,797 scans from the UCI optical recognition set, 8 x 8
/// cells of ink 0-16, classes 0-9) rendered as PNG images for resnet18: real data no one in the project wrote.
/// Dark ink on white, upscaled with bilinear filtering, RGB. Rows are taken in the file's order (its classes cycle
/// roughly evenly), so the same count always gives the same images.
/// </summary>
public static class SklearnDigits
{
    public const int Available = 1797;

    public static string DataFile => Path.Combine(SklearnTables.DataFolder, "digits.csv.gz");

    /// <summary>The first <paramref name="count"/> digits as (PNG bytes, label "0".."9").</summary>
    public static IReadOnlyList<(byte[] Png, string Label)> Images(int count, int size = 32)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, Available);
        using var file = File.OpenRead(DataFile);
        using var gzip = new GZipStream(file, CompressionMode.Decompress);
        using var reader = new StreamReader(gzip);
        var images = new List<(byte[], string)>(count);
        while (images.Count < count && reader.ReadLine() is { } line)
        {
            var cells = line.Split(',');
            if (cells.Length != 65)
            {
                throw new InvalidDataException($"{DataFile}: expected 64 pixels and a class per row, got {cells.Length} cells");
            }

            var ink = cells[..64].Select(c => int.Parse(c, CultureInfo.InvariantCulture)).ToArray();
            images.Add((Render(ink, size), cells[64]));
        }

        return images;
    }

    /// <summary>
    /// The first <paramref name="count"/> digits in the ImageFolder layout (<c>FOLDER/3/0003.png</c>: the subfolder is
    /// the label), the layout <c>pronto finetune --data FOLDER</c> reads. Returns <paramref name="folder"/>.
    /// </summary>
    public static string WriteImageFolder(string folder, int count, int size = 32)
    {
        var images = Images(count, size);
        for (var i = 0; i < images.Count; i++)
        {
            var (png, label) = images[i];
            var classFolder = Path.Combine(folder, label);
            Directory.CreateDirectory(classFolder);
            File.WriteAllBytes(Path.Combine(classFolder, i.ToString("D4", CultureInfo.InvariantCulture) + ".png"), png);
        }

        return folder;
    }

    private static byte[] Render(int[] ink, int size)
    {
        using var cells = new SKBitmap(new SKImageInfo(8, 8, SKColorType.Rgba8888, SKAlphaType.Opaque));
        for (var i = 0; i < 64; i++)
        {
            var value = (byte)(255 - (ink[i] * 255 / 16));
            cells.SetPixel(i % 8, i / 8, new SKColor(value, value, value));
        }

        using var surface = SKSurface.Create(new SKImageInfo(size, size, SKColorType.Rgba8888, SKAlphaType.Opaque));
        using (var image = SKImage.FromBitmap(cells))
        {
            surface.Canvas.DrawImage(image, new SKRect(0, 0, size, size), new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.None));
        }

        using var snapshot = surface.Snapshot();
        using var data = snapshot.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }
}
