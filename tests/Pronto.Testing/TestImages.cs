using SkiaSharp;

namespace Pronto.Testing;

/// <summary>Images drawn in code (no binary fixtures): a scene, and the same scene at another size or format.</summary>
public static class TestImages
{
    /// <summary>A sunset-like scene: sky gradient, a sun, hills. Same picture at any size.</summary>
    public static byte[] Landscape(int width, int height, SKEncodedImageFormat format = SKEncodedImageFormat.Png)
    {
        using var surface = SKSurface.Create(new SKImageInfo(width, height));
        var canvas = surface.Canvas;
        canvas.Scale(width / 640f, height / 480f);
        using (var sky = new SKPaint())
        {
            sky.Shader = SKShader.CreateLinearGradient(new SKPoint(0, 0), new SKPoint(0, 480), [new SKColor(255, 140, 60), new SKColor(80, 40, 160)], SKShaderTileMode.Clamp);
            canvas.DrawRect(0, 0, 640, 480, sky);
        }

        using var sun = new SKPaint { Color = new SKColor(255, 230, 90), IsAntialias = true };
        canvas.DrawCircle(420, 200, 70, sun);
        using var hill = new SKPaint { Color = new SKColor(30, 90, 40), IsAntialias = true };
        canvas.DrawOval(new SKRect(-200, 330, 420, 640), hill);
        canvas.DrawOval(new SKRect(250, 300, 900, 620), hill);
        return Encode(surface, format);
    }

    /// <summary>A black and white checkerboard with a red diagonal bar: nothing like the landscape.</summary>
    public static byte[] Checkerboard(int width, int height, SKEncodedImageFormat format = SKEncodedImageFormat.Png)
    {
        using var surface = SKSurface.Create(new SKImageInfo(width, height));
        var canvas = surface.Canvas;
        using var white = new SKPaint { Color = SKColors.White };
        using var black = new SKPaint { Color = SKColors.Black };
        var cell = Math.Max(4, width / 16);
        for (var y = 0; y < height; y += cell)
        {
            for (var x = 0; x < width; x += cell)
            {
                canvas.DrawRect(x, y, cell, cell, ((x / cell) + (y / cell)) % 2 == 0 ? white : black);
            }
        }

        using var red = new SKPaint { Color = SKColors.Red, StrokeWidth = width / 10f, IsAntialias = true };
        canvas.DrawLine(0, 0, width, height, red);
        return Encode(surface, format);
    }

    private static byte[] Encode(SKSurface surface, SKEncodedImageFormat format)
    {
        using var image = surface.Snapshot();
        using var data = image.Encode(format, 90);
        return data.ToArray();
    }
}
