import { types, type PGlite } from '@electric-sql/pglite';

/**
 * PostgreSQL's own array types (of the types it defines itself, below OID 10000), as pairs: the
 * element type's OID, then its array type's. They are fixed by PostgreSQL's catalog for a major
 * version. PGlite reads them from `pg_type` at every open, the first statement a new process runs
 * and about a tenth of an existing embedded store's start; the embedded store registers them from
 * this list instead. A test compares it with the catalog of the PGlite Sigil ships.
 */
export const BUILTIN_ARRAY_TYPES: readonly number[] = [
  16, 1000, 17, 1001, 18, 1002, 19, 1003, 20, 1016, 21, 1005, 22, 1006, 23, 1007, 24, 1008, 25, 1009, 26, 1028, 27, 1010, 28, 1011, 29,
  1012, 30, 1013, 71, 210, 75, 270, 81, 272, 83, 273, 114, 199, 142, 143, 600, 1017, 601, 1018, 602, 1019, 603, 1020, 604, 1027, 628, 629,
  650, 651, 700, 1021, 701, 1022, 718, 719, 774, 775, 790, 791, 829, 1040, 869, 1041, 1033, 1034, 1042, 1014, 1043, 1015, 1082, 1182, 1083,
  1183, 1114, 1115, 1184, 1185, 1186, 1187, 1248, 10052, 1266, 1270, 1560, 1561, 1562, 1563, 1700, 1231, 1790, 2201, 2202, 2207, 2203, 2208,
  2204, 2209, 2205, 2210, 2206, 2211, 2275, 1263, 2842, 10057, 2843, 10058, 2950, 2951, 2970, 2949, 3220, 3221, 3614, 3643, 3615, 3645,
  3642, 3644, 3734, 3735, 3769, 3770, 3802, 3807, 3904, 3905, 3906, 3907, 3908, 3909, 3910, 3911, 3912, 3913, 3926, 3927, 4066, 10093, 4072,
  4073, 4089, 4090, 4096, 4097, 4191, 4192, 4451, 6150, 4532, 6151, 4533, 6152, 4534, 6153, 4535, 6155, 4536, 6157, 5038, 5039, 5069, 271,
  6101, 10112,
];

/** Registers each array type's serializer and parser exactly as PGlite's own catalog read does. */
export function registerBuiltinArrayTypes(pg: Pick<PGlite, 'serializers' | 'parsers'>): void {
  for (let i = 0; i < BUILTIN_ARRAY_TYPES.length; i += 2) {
    const element = BUILTIN_ARRAY_TYPES[i]!;
    const array = BUILTIN_ARRAY_TYPES[i + 1]!;
    pg.serializers[array] = (value: unknown) => types.arraySerializer(value, pg.serializers[element], array);
    pg.parsers[array] = (text: string) => types.arrayParser(text, pg.parsers[element]!, array);
  }
}
