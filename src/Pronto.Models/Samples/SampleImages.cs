using Pronto.Models.Fraud;
using SkiaSharp;

namespace Pronto.Models.Samples;

/// <summary>
/// Small generated scenes (a sky gradient, a sun, hills, a few shapes), PNG-encoded: sample input for
/// <c>resnet18</c> (<c>pronto sample resnet18</c>). Colours and positions come from <see cref="SplitMix64"/>;
/// a seed gives the same pixels and, with the same SkiaSharp, the same PNG bytes.
/// </summary>
public static class SampleImages
{
    /// <summary>resnet18's input size: the preparer resizes any image, this one needs no resampling.</summary>
    public const int Size = 224;

    /// <summary>The first <paramref name="count"/> PNG images of the stream <paramref name="seed"/> names.</summary>
    public static IEnumerable<byte[]> Generate(int count, int seed)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        var random = new SplitMix64(unchecked((ulong)seed));
        for (var i = 0; i < count; i++)
        {
            yield return Draw(random);
        }
    }

    private static byte[] Draw(SplitMix64 random)
    {
        using var surface = SKSurface.Create(new SKImageInfo(Size, Size, SKColorType.Rgba8888, SKAlphaType.Premul));
        var canvas = surface.Canvas;
        using (var sky = new SKPaint())
        {
            sky.Shader = SKShader.CreateLinearGradient(new SKPoint(0, 0), new SKPoint(0, Size), [Colour(random), Colour(random)], SKShaderTileMode.Clamp);
            canvas.DrawRect(0, 0, Size, Size, sky);
        }

        using var paint = new SKPaint { IsAntialias = true };
        paint.Color = Colour(random);
        canvas.DrawCircle(Coordinate(random), Coordinate(random) / 2, 12 + (random.NextInt(0, 30)), paint);
        paint.Color = Colour(random);
        canvas.DrawOval(new SKRect(-Size / 2f, Size * 0.6f, Coordinate(random) + (Size / 2f), Size * 1.4f), paint);

        // A few shapes in the foreground, so images differ in more than colour.
        var shapes = random.NextInt(1, 4);
        for (var s = 0; s < shapes; s++)
        {
            paint.Color = Colour(random);
            var (x, y, r) = (Coordinate(random), Coordinate(random), 8f + random.NextInt(0, 40));
            if (random.Chance(0.5))
            {
                canvas.DrawRect(x - r, y - r, 2 * r, 2 * r, paint);
            }
            else
            {
                canvas.DrawCircle(x, y, r, paint);
            }
        }

        using var image = surface.Snapshot();
        using var data = image.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }

    private static SKColor Colour(SplitMix64 random) =>
        new((byte)random.NextInt(0, 256), (byte)random.NextInt(0, 256), (byte)random.NextInt(0, 256));

    private static float Coordinate(SplitMix64 random) => random.NextInt(0, Size);
}
