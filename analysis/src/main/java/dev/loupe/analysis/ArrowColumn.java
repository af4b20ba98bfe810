package dev.loupe.analysis;

import dev.loupe.errors.BadInputException;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.Float4Vector;
import org.apache.arrow.vector.Float8Vector;
import org.apache.arrow.vector.IntVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.complex.ListVector;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.FieldType;
import org.apache.arrow.vector.types.pojo.Schema;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * One column of a Loupe Arrow file, declared once: its {@link Field} (what writers put in the schema) and the vector
 * class readers get back. Readers look columns up through it, so a file whose column is missing or of another type
 * fails in one line naming the file and column instead of a {@code ClassCastException} or a null.
 */
record ArrowColumn<V extends FieldVector>(Field field, Class<V> vectorClass) {
    static ArrowColumn<IntVector> int32(String name) { return of(name, ArrowFiles.INT32, IntVector.class); }

    static ArrowColumn<BigIntVector> int64(String name) { return of(name, ArrowFiles.INT64, BigIntVector.class); }

    static ArrowColumn<Float4Vector> float32(String name) { return of(name, ArrowFiles.FLOAT32, Float4Vector.class); }

    static ArrowColumn<Float8Vector> float64(String name) { return of(name, ArrowFiles.FLOAT64, Float8Vector.class); }

    /** A float64 column whose rows may be null. */
    static ArrowColumn<Float8Vector> nullableFloat64(String name) {
        return new ArrowColumn<>(new Field(name, FieldType.nullable(ArrowFiles.FLOAT64), null), Float8Vector.class);
    }

    static ArrowColumn<VarCharVector> utf8(String name) { return of(name, ArrowType.Utf8.INSTANCE, VarCharVector.class); }

    /** A list column of non-null {@code item}s. */
    static ArrowColumn<ListVector> listOf(String name, ArrowType item) {
        Field f = new Field(name, FieldType.notNullable(ArrowType.List.INSTANCE), List.of(new Field("item", FieldType.notNullable(item), null)));
        return new ArrowColumn<>(f, ListVector.class);
    }

    private static <V extends FieldVector> ArrowColumn<V> of(String name, ArrowType type, Class<V> cls) {
        return new ArrowColumn<>(new Field(name, FieldType.notNullable(type), null), cls);
    }

    String name() { return field.getName(); }

    /** A schema of these columns, in order, with {@code metadata}. */
    static Schema schema(Map<String, String> metadata, ArrowColumn<?>... columns) {
        return new Schema(java.util.Arrays.stream(columns).map(ArrowColumn::field).toList(), metadata);
    }

    /** This column of a batch read from {@code file}; fails naming the file when it is missing or of another type. */
    V in(VectorSchemaRoot root, Path file) {
        V v = find(root, file);
        if (v == null) throw new BadInputException(file + ": has no column " + name() + " (" + describe(field) + "): not the file a Loupe run writes there");
        return v;
    }

    /** This column of a batch, or null when the file has none (an optional column); fails when it has another type. */
    V find(VectorSchemaRoot root, Path file) {
        FieldVector v = root.getVector(name());
        if (v == null) return null;
        if (!vectorClass.isInstance(v) || !sameType(v.getField(), field)) {
            throw new BadInputException(file + ": column " + name() + " is " + describe(v.getField()) + ", expected " + describe(field));
        }
        return vectorClass.cast(v);
    }

    /** This column of a file being written. */
    V in(ArrowFiles.Writer writer) { return vectorClass.cast(writer.root().getVector(name())); }

    private static boolean sameType(Field a, Field b) {
        if (!a.getType().equals(b.getType()) || a.getChildren().size() != b.getChildren().size()) return false;
        for (int i = 0; i < a.getChildren().size(); i++) if (!sameType(a.getChildren().get(i), b.getChildren().get(i))) return false;
        return true;
    }

    private static String describe(Field f) {
        return f.getChildren().isEmpty() ? f.getType().toString() : f.getType() + "<" + describe(f.getChildren().getFirst()) + ">";
    }
}
