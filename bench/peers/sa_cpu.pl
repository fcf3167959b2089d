#!/usr/bin/perl
# SpamAssassin 4.0.1's own CPU cost per message, for bench/peers/sa_ratio.sh: loads the rules
# once (local tests only, as spamd -L: score set 0, no Bayes, no network, no auto-learning),
# then parses and checks every message given, as spamd does for each connection. Prints
#   init_cpu <seconds>     CPU (user+system) to load and compile the rules
#   scan_cpu <seconds>     CPU for parse + check + finish of all messages
#   messages <n>
# Usage: sa_cpu.pl FILE...
use strict;
use warnings;
use Mail::SpamAssassin;

my @t0 = times;
my $sa = Mail::SpamAssassin->new({
  local_tests_only => 1,
  dont_copy_prefs  => 1,
  userprefs_filename => '/dev/null',
  userstate_dir    => '/tmp/veto-sa-state',
  post_config_text => "use_bayes 0\nbayes_auto_learn 0\nuse_auto_whitelist 0\n",
});
$sa->init(1);
my @t1 = times;
my @raw;
for my $file (@ARGV) {
  open(my $fh, '<', $file) or die "$file: $!";
  binmode $fh;
  local $/;
  push @raw, scalar <$fh>;
  close $fh;
}
my @t2 = times;
my $n = 0;
for my $raw (@raw) {
  my $msg = $sa->parse($raw);
  my $status = $sa->check($msg);
  my $score = $status->get_score();
  $status->finish();
  $msg->finish();
  ++$n;
}
my @t3 = times;
printf "init_cpu %.3f\n", ($t1[0] + $t1[1]) - ($t0[0] + $t0[1]);
printf "scan_cpu %.3f\n", ($t3[0] + $t3[1]) - ($t2[0] + $t2[1]);
printf "messages %d\n", $n;
