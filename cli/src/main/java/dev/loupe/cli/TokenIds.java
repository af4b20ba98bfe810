package dev.loupe.cli;

import dev.loupe.errors.BadInputException;

import java.util.Arrays;

/** Parses {@code --token-ids 2,17,...}. */
final class TokenIds {
    private TokenIds() {}

    static int[] parse(String csv) {
        try {
            int[] ids = Arrays.stream(csv.split(",")).map(String::trim).filter(s -> !s.isEmpty()).mapToInt(Integer::parseInt).toArray();
            if (ids.length == 0) throw new BadInputException("--token-ids: no ids given");
            return ids;
        } catch (NumberFormatException e) {
            throw new BadInputException("--token-ids: expected comma-separated integers, got '" + csv + "'");
        }
    }
}
