#!/usr/bin/perl
# Prints SpamAssassin 4.0.1's rule hits for each message: one line per message,
# "<name>\t<comma-separated rule names that hit, including __ sub-rules>".
# Local tests only (-L: score set 0), no Bayes, no auto-learning, no user prefs, no network.
# Usage: sa_hits.pl FILE...
use strict;
use warnings;
use Mail::SpamAssassin;

my $sa = Mail::SpamAssassin->new({
  local_tests_only => 1,
  dont_copy_prefs  => 1,
  userprefs_filename => '/dev/null',
  userstate_dir    => '/tmp/veto-sa-state',
  post_config_text => "use_bayes 0\nbayes_auto_learn 0\nuse_auto_whitelist 0\n",
});
$sa->init(1);
for my $file (@ARGV) {
  open(my $fh, '<', $file) or die "$file: $!";
  binmode $fh;
  local $/;
  my $raw = <$fh>;
  close $fh;
  my $msg = $sa->parse($raw);
  my $status = $sa->check($msg);
  my @hits = (@{$status->get_names_of_tests_hit_with_scores_hash() ? [keys %{$status->get_names_of_tests_hit_with_scores_hash()}] : []},
              split(/,/, $status->get_names_of_subtests_hit() || ''));
  my %seen;
  @hits = grep { $_ ne '' && !$seen{$_}++ } @hits;
  print "$file\t", join(',', sort @hits), "\n";
  $status->finish();
  $msg->finish();
}
