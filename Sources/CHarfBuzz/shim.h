#include <hb.h>
#include <hb-ft.h>
#include <hb-subset.h>
#include <ft2build.h>
#include FT_FREETYPE_H
